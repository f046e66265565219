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
    input.focus();
    input.select();                          // typing replaces the machine's reading; Enter keeps it

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
