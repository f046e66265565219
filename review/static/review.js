// Keyboard-first review. No framework, no build step: plain DOM on server-rendered pages.
(function () {
  "use strict";

  function submitWith(form, action) {
    if (form.dataset.sent) return;           // one submission per page: no double posts on key repeat
    form.dataset.sent = "1";
    form.querySelector("#action").value = action;
    form.submit();
  }

  function setupReview() {
    var form = document.getElementById("review-form");
    if (!form) return;
    var input = document.getElementById("value");
    var page = document.getElementById("page");
    if (input) {
      input.focus();
      input.select();                        // typing replaces the machine's reading; Enter keeps it
      var chars = parseInt(input.style.getPropertyValue("--chars"), 10) || input.size;
      input.addEventListener("input", function () {
        // Never scroll the first digits out of sight: the box grows with what is typed.
        if (input.value.length + 1 > chars) {
          input.style.setProperty("--chars", String(input.value.length + 1));
        }
      });
    } else {
      setupCells(document.getElementById("cells"));
    }

    function togglePage() {
      if (!page.querySelector("img")) {
        var img = document.createElement("img");
        img.src = page.dataset.src;
        img.alt = "page with the field outlined";
        page.insertBefore(img, page.firstChild);
      }
      page.hidden = !page.hidden;
    }

    form.addEventListener("submit", function (ev) {
      var btn = ev.submitter;
      if (btn && btn.dataset.action) {
        ev.preventDefault();
        submitWith(form, btn.dataset.action);
        return;
      }
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
    });
    document.getElementById("toggle-page").addEventListener("click", togglePage);
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (ev.key === "Escape") { ev.preventDefault(); submitWith(form, "skip"); }
      else if (ev.key === "u" || ev.key === "U") { ev.preventDefault(); submitWith(form, "unreadable"); }
      else if (ev.key === "p" || ev.key === "P") { ev.preventDefault(); togglePage(); }
      else if (ev.key.length === 1 && /[^0-9 .,\-\/]/.test(ev.key)) { ev.preventDefault(); }
    });
  }

  // A comb field: one box per cell. A digit fills the box and moves on, Backspace steps back,
  // paste spreads over the boxes. Until the reviewer moves by hand, the first digit typed
  // replaces the whole machine reading (as in the single box, where it is pre-selected).
  function setupCells(group) {
    if (!group) return;
    var cells = Array.prototype.slice.call(group.querySelectorAll("input.cell"));
    if (!cells.length) return;
    var pristine = true;
    function at(i) { return cells[Math.max(0, Math.min(cells.length - 1, i))]; }
    function go(i) { var c = at(i); c.focus(); c.select(); }
    function fill(from, text) {
      var digits = text.replace(/[^0-9]/g, "").split("");
      if (pristine) { cells.forEach(function (c) { c.value = ""; }); from = 0; pristine = false; }
      var i = from;
      digits.forEach(function (d) { if (i < cells.length) { cells[i].value = d; i++; } });
      go(i);
    }
    cells.forEach(function (cell, i) {
      cell.addEventListener("mousedown", function () { pristine = false; });
      cell.addEventListener("focus", function () { cell.select(); });
      cell.addEventListener("keydown", function (ev) {
        if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
        if (/^[0-9]$/.test(ev.key)) {
          ev.preventDefault();
          ev.stopPropagation();
          if (pristine) { fill(0, ev.key); return; }
          cell.value = ev.key;
          go(i + 1);
        } else if (ev.key === "Backspace") {
          ev.preventDefault();
          pristine = false;
          if (cell.value) { cell.value = ""; }
          else if (i > 0) { at(i - 1).value = ""; go(i - 1); }
        } else if (ev.key === "Delete") {
          ev.preventDefault(); pristine = false; cell.value = "";
        } else if (ev.key === "ArrowLeft") {
          ev.preventDefault(); pristine = false; go(i - 1);
        } else if (ev.key === "ArrowRight") {
          ev.preventDefault(); pristine = false; go(i + 1);
        } else if (ev.key === "Home") {
          ev.preventDefault(); pristine = false; go(0);
        } else if (ev.key === "End") {
          ev.preventDefault(); pristine = false; go(cells.length - 1);
        }
      });
      cell.addEventListener("paste", function (ev) {
        ev.preventDefault();
        var text = (ev.clipboardData || window.clipboardData).getData("text");
        fill(pristine ? 0 : i, text);
      });
      cell.addEventListener("input", function () {  // mobile keyboards: no keydown per digit
        var v = cell.value.replace(/[^0-9]/g, "");
        if (v.length > 1) { cell.value = ""; fill(i, v); return; }
        cell.value = v;
        if (v) { pristine = false; go(i + 1); }
      });
    });
    go(0);
  }

  function setupGroup() {
    var form = document.getElementById("group-form");
    if (!form) return;
    var counter = document.getElementById("wrong-count");
    function recount() {
      counter.textContent = form.querySelectorAll("input[name=wrong]:checked").length;
    }
    form.addEventListener("change", recount);
    form.addEventListener("submit", function (ev) {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        if (!form.dataset.sent) { form.dataset.sent = "1"; form.submit(); }
      }
    });
    document.getElementById("confirm").focus();
  }

  function setupHotkeys() {
    // Links marked data-hotkey (queue "Start", group digits) answer to their key when no input has focus.
    var links = document.querySelectorAll("[data-hotkey]");
    if (!links.length) return;
    document.addEventListener("keydown", function (ev) {
      var t = ev.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.tagName === "BUTTON" || t.tagName === "A")) return;
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      for (var i = 0; i < links.length; i++) {
        if (links[i].dataset.hotkey === ev.key) { ev.preventDefault(); window.location.href = links[i].href; return; }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupReview();
    setupGroup();
    setupHotkeys();
  });
})();
