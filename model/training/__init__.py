"""Training, adaptation and evaluation of the digit network (the ``train`` extra), and the
generated forms they learn from. Nothing here runs in a worker."""
