// Tiny static programs packed into our own images by ../mkimage.py:
// pause (the pod sandbox) and httpecho (a test HTTP server). Standard library only.
module chatbot.local/images

go 1.26.0
