"""The MCP server: the SDK's low-level ``Server`` wired to StateTools, resources and
change notifications, served on stdio or streamable HTTP.

This is the one module that imports the ``mcp`` SDK (2.x); ``statevcs mcp`` loads it only
when it runs. Tools run one at a time in a worker thread (the Repository is synchronous),
so the event loop keeps answering and sending notifications meanwhile. A failing tool is a
tool result with ``is_error`` and the error's message, never a crash of the server: the
SDK would turn any other exception into a bare "Error executing tool".
"""

from __future__ import annotations

import json
import os
import socket
import sys
import traceback
from collections import Counter
from typing import Any, Callable

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated

from ...errors import RevisionNotFoundError, StateVCSError
from ...model.refnames import check_branch_name
from ...porcelain.presentation.escaping import terminal_text
from ...porcelain.repository.facade import Repository
from . import uris
from .tools import StateTools
from .watching import BranchWatchers

INSTRUCTIONS = (
    "Versioned JSON state (statevcs: git for agent state). Read with get, log and diff; write with commit_patch "
    "(an RFC 6902 JSON Patch) on a branch. Before a risky plan: branch, commit_patch on the new branch, diff it "
    "against the original, then merge it (resolve any conflicts) or leave it. tag a known-good state and "
    "restore it later. Errors say what is wrong; nothing is written when a tool fails."
)


def _client_name(ctx: Any) -> str | None:
    params = ctx.session.client_params
    info = getattr(params, "client_info", None)
    return getattr(info, "name", None) or None


def _connection_key(session: Any) -> int:
    # The session object is built per request; its connection is the client's (legacy era).
    return id(getattr(session, "_connection", session))


class StatevcsServer:
    """One repository served over MCP."""

    def __init__(self, tools: StateTools, open_repository: Callable[[], Repository], author: str | None = None,
                 poll_interval: float = 0.1) -> None:
        self.tools = tools
        self.author = author
        self._lock = anyio.Lock()
        self._bus = InMemorySubscriptionBus()
        self._listen = ListenHandler(self._bus)
        self._listened: Counter[str] = Counter()  # uri -> open listen streams asking for it
        self._legacy: dict[int, tuple[Any, set[str]]] = {}  # connection -> (session, uris)
        self._follows: dict[str, str | None] = {}  # uri -> the branch it follows
        self._dirty: set[str] = set()
        self._wake = anyio.Event()
        self._token: Any = None
        self._closing = False
        self.watchers = BranchWatchers(open_repository, self._moved_threadsafe, self._watch_failed, poll_interval)
        self.server: Server[Any] = Server(
            "statevcs", version=_version(), title="statevcs", instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools, on_call_tool=self._call_tool,
            on_list_resources=self._list_resources, on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource, on_subscribe_resource=self._subscribe,
            on_unsubscribe_resource=self._unsubscribe, on_subscriptions_listen=self._listen_stream,
        )

    # ---------------------------------------------------------------- running
    async def serve_stdio(self) -> None:
        async with anyio.create_task_group() as tg:
            self._start(tg)
            try:
                async with stdio_server() as (read, write):
                    await self.server.run(read, write, self.server.create_initialization_options())
            finally:
                self._stop(tg)

    async def serve_http(self, host: str, port: int, announce: Callable[[str], None]) -> None:
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        bound = sock.getsockname()[1]
        app = self.server.streamable_http_app(host=host)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        shown = f"[{host}]" if ":" in host else host
        async with anyio.create_task_group() as tg:
            self._start(tg)
            announce(f"http://{shown}:{bound}/mcp")
            try:
                await server.serve(sockets=[sock])
            finally:
                self._stop(tg)

    def _start(self, tg: Any) -> None:
        self._token = anyio.lowlevel.current_token()
        tg.start_soon(self._notifier)

    def _stop(self, tg: Any) -> None:
        self._closing = True
        self.watchers.close()
        self._listen.close()
        tg.cancel_scope.cancel()

    async def _repo_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a repository call in a worker thread, one at a time."""
        async with self._lock:
            return await anyio.to_thread.run_sync(fn, *args)

    # ---------------------------------------------------------------- tools
    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[
            types.Tool(name=spec.name, description=spec.description, input_schema=spec.input_schema(),
                       annotations=types.ToolAnnotations(read_only_hint=not spec.writes, destructive_hint=False,
                                                         open_world_hint=False))
            for spec in self.tools.specs()])

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        author = self.author or f"mcp:{_client_name(ctx) or 'unknown'}"
        try:
            result = await self._repo_call(self.tools.call, params.name, params.arguments, author)
        except (StateVCSError, ValueError, KeyError, OSError) as exc:
            return _tool_error(exc, self.tools.max_bytes)
        except Exception as exc:  # a bug: one line on stderr and a tool error; the server keeps serving
            _log_internal(f"tool {params.name}", exc)
            return _tool_error(exc, self.tools.max_bytes, internal=True)
        return types.CallToolResult(content=[types.TextContent(type="text", text=_dumps(result))],
                                    structured_content=result)

    # ---------------------------------------------------------------- resources
    async def _list_resources(self, ctx: Any, params: Any) -> types.ListResourcesResult:
        items = await self._resource_call(uris.listing, self.tools)
        return types.ListResourcesResult(resources=[types.Resource(mime_type="application/json", **item)
                                                    for item in items])

    async def _list_templates(self, ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[
            types.ResourceTemplate(mime_type="application/json", **t) for t in uris.TEMPLATES])

    async def _read_resource(self, ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        text = await self._resource_call(uris.read, self.tools, params.uri)
        return types.ReadResourceResult(contents=[
            types.TextResourceContents(uri=params.uri, text=text, mime_type="application/json")])

    async def _resource_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A resource call; a failure is a protocol error carrying the reason (resources have no is_error)."""
        try:
            return await self._repo_call(fn, *args)
        except (StateVCSError, ValueError, KeyError, OSError) as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=_message(exc)) from None
        except Exception as exc:
            _log_internal("resource", exc)
            raise MCPError(code=types.INTERNAL_ERROR, message=f"internal error: {_message(exc)}") from None

    # ---------------------------------------------------------------- subscriptions
    async def _subscribe(self, ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        await self._resource_call(uris.parse, params.uri)
        key = _connection_key(ctx.session)
        self._legacy.setdefault(key, (ctx.session, set()))[1].add(params.uri)
        await self._refollow()
        return types.EmptyResult()

    async def _unsubscribe(self, ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        entry = self._legacy.get(_connection_key(ctx.session))
        if entry is not None:
            entry[1].discard(params.uri)
            if not entry[1]:
                del self._legacy[_connection_key(ctx.session)]
        await self._refollow()
        return types.EmptyResult()

    async def _listen_stream(self, ctx: Any, params: types.SubscriptionsListenRequestParams) -> Any:
        wanted = [u for u in (params.notifications.resource_subscriptions or ()) if u.startswith(uris.SCHEME)]
        self._listened.update(wanted)
        try:
            await self._refollow()
            return await self._listen(ctx, params)
        finally:
            self._listened.subtract(wanted)
            self._listened = +self._listened  # drop zero counts
            if not self._closing:
                with anyio.CancelScope(shield=True):
                    await self._refollow()

    def _subscribed(self) -> set[str]:
        return set(self._listened) | {u for _, subscribed in self._legacy.values() for u in subscribed}

    async def _refollow(self) -> None:
        """Watch the branches that subscribed resources follow (and only those)."""
        subscribed = self._subscribed()
        new = [u for u in subscribed if u not in self._follows]
        tips: dict[str, str | None] = {}
        if new:
            followed, tips = await self._repo_call(self._branches_followed, new)
            self._follows.update(followed)
        for uri in set(self._follows) - subscribed:
            del self._follows[uri]
        self.watchers.follow({b: tips.get(b) for b in self._follows.values() if b is not None})

    def _branches_followed(self, subscribed: list[str]) -> tuple[dict[str, str | None], dict[str, str]]:
        """The branch each address follows (None: not a branch), and the branches' tips now."""
        repo = self.tools.repo
        head, branches = repo.current_branch, repo.branches
        out: dict[str, str | None] = {}
        for uri in subscribed:
            branch = None
            try:
                address = uris.parse(uri)
                branch = uris.followed_branch(address, head)
                if branch is not None and branch not in branches:
                    check_branch_name(branch)
                    if address.kind == "state":
                        repo.resolve(address.revision)  # a tag or a commit: it never moves
                        branch = None
            except RevisionNotFoundError:
                pass  # a branch that does not exist yet: notified once it does
            except StateVCSError:
                branch = None
            out[uri] = branch
        return out, branches

    # ---------------------------------------------------------------- notifications
    def _moved_threadsafe(self, branch: str) -> None:
        if not self._closing:
            anyio.from_thread.run_sync(self._mark, branch, token=self._token)

    def _mark(self, branch: str) -> None:
        self._dirty.add(branch)
        self._wake.set()

    def _watch_failed(self, branch: str, exc: BaseException) -> None:
        if not self._closing:
            print(f"statevcs mcp: stopped watching branch {terminal_text(branch)!r}: {terminal_text(_message(exc))}",
                  file=sys.stderr, flush=True)

    async def _notifier(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            moved, self._dirty = self._dirty, set()
            for uri, branch in list(self._follows.items()):
                if branch in moved:
                    await self._notify(uri)

    async def _notify(self, uri: str) -> None:
        if uri in self._listened:
            await self._bus.publish(ResourceUpdated(uri=uri))
        for key, (session, subscribed) in list(self._legacy.items()):
            if uri in subscribed:
                try:
                    await session.send_resource_updated(uri)
                except Exception:  # the client went away: forget its subscriptions
                    self._legacy.pop(key, None)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("statevcs")
    except PackageNotFoundError:
        return ""


def _message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, KeyError) and not isinstance(exc, StateVCSError) and exc.args:
        text = str(exc.args[0])
    return text or type(exc).__name__


def _tool_error(exc: BaseException, max_bytes: int, internal: bool = False) -> types.CallToolResult:
    name = type(exc).__name__
    message = _message(exc)
    if len(message) > max_bytes // 4:  # a rule's message may quote a whole value
        message = message[: max_bytes // 4] + f"... ({len(message)} characters in all)"
    text = f"internal error: {name}: {message}" if internal else f"{name}: {message}"
    error: dict[str, Any] = {"type": name, "message": message}
    for attribute in ("pointer", "rule", "index"):
        value = getattr(exc, attribute, None)
        if isinstance(value, (str, int)) and value != "":
            error[attribute] = value
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                structured_content={"error": error}, is_error=True)


def _log_internal(where: str, exc: BaseException) -> None:
    if os.environ.get("STATEVCS_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
    else:
        print(f"statevcs mcp: internal error in {where}: {type(exc).__name__}: {terminal_text(str(exc))} "
              "(STATEVCS_DEBUG=1 for a traceback)", file=sys.stderr, flush=True)


def _dumps(value: Any) -> str:
    """Compact JSON, as shaping.json_size measures it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def serve(repo: Repository, location: str, *, http: tuple[str, int] | None = None, read_only: bool = False,
          allow_branches: tuple[str, ...] = (), author: str | None = None, max_bytes: int | None = None,
          announce: Callable[[str], None] = lambda url: None) -> None:
    """Serve ``repo`` until the client disconnects (stdio) or the process is stopped (HTTP).
    ``location`` reopens it for the branch watchers."""
    from .shaping import DEFAULT_MAX_BYTES

    tools = StateTools(repo, read_only, allow_branches, max_bytes or DEFAULT_MAX_BYTES)
    server = StatevcsServer(tools, lambda: Repository.open(location), author)
    if http is None:
        anyio.run(server.serve_stdio)
    else:
        anyio.run(server.serve_http, http[0], http[1], announce)


__all__ = ["StatevcsServer", "serve"]
