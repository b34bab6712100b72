"""Security controls shared by every app: rate limits (``ratelimit.py``) and the
Content Security Policy header (``middleware.py``). See docs/security.md."""
