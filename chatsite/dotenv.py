"""The `.env` file: KEY=VALUE lines that fill variables the environment leaves unset. Read by
the settings, and by `make stack` (chatsite/stack.py) before it checks what it needs."""
import os


def load_dotenv(path):
    """Fill unset variables from KEY=VALUE lines; the real environment wins."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))
