"""HTTP through Django in one hop to a thread.

Django's ASGI handler runs its middleware in async mode: each middleware's request and
response hooks hop to a thread and back (about a dozen hops a request with ours), and each
request gets a new thread of its own (asgiref's ThreadSensitiveContext). Every view here is
synchronous, so this handler runs the same middleware, synchronously, and the view in one
call on a pool of `HTTP_THREADS` long-lived threads, as a WSGI server would: the body is
read and the answer sent on the event loop, everything else on the thread. A request's
database connection goes back to the pool (`request_finished`) on the thread that used it,
before the answer is sent, except for a streamed answer (a static file), which closes after.
"""
import asyncio
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.exceptions import RequestAborted
from django.db import close_old_connections
from django.http import FileResponse
from django.urls import set_script_prefix


class OneHopHTTP(ASGIHandler):
    def __init__(self):
        super().__init__()
        self.load_middleware(is_async=False)
        self.threads = ThreadPoolExecutor(settings.HTTP_THREADS, thread_name_prefix="http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP here, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await asyncio.get_running_loop().run_in_executor(self.threads, self.respond, scope, body_file)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client went away
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=False)()
        finally:
            body_file.close()

    def respond(self, scope, body_file):
        """On a pool thread: Django's request cycle for one request, as WSGI runs it."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if response.streaming:
            close_old_connections()  # its body is read later, without the database
        else:
            response.close()  # request_finished: this thread's connection back to the pool
        return response
