"""The reference API of Contract 2, as the sandbox serves it (Starlette on uvicorn, HTTPS)."""
