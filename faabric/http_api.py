"""Faasm's HTTP API on the planner, so Faasm's own client (faasmctl) can use us.

* ``PUT /f/<user>/<function>``: upload a wasm function (Faasm's upload port).
* ``POST /``: ``{"http_type": ..., "payload": "<JSON string>"}`` with
  ``EXECUTE_BATCH`` (10) to invoke and ``EXECUTE_BATCH_STATUS`` (11) to poll;
  ``http_type`` may be the enum's name or its number.
* ``PUT``/``GET /s/<user>/<key>``: set or read a state value in the global tier.
* ``GET /ping``: ``PONG``.

Message JSON follows faabric's protobuf field names (``appId``, ``input_data``
as base64, ``output_data``, ``returnValue``, ``start_ts``/``finish_ts`` in ms,
``mpi_world_size``, ``cmdline``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging

from aiohttp import web

from faabric.exceptions import FaabricError, StateBackendUnavailableError
from faabric.function_store import check_name
from faabric.messages import Message
from faabric.state.keys import StateKey

log = logging.getLogger(__name__)

HTTP_TYPES = {
    "NO_TYPE": 0, "RESET": 1, "FLUSH_AVAILABLE_HOSTS": 2, "FLUSH_EXECUTORS": 3, "FLUSH_SCHEDULING_STATE": 4,
    "GET_AVAILABLE_HOSTS": 5, "GET_CONFIG": 6, "GET_EXEC_GRAPH": 7, "GET_IN_FLIGHT_APPS": 8,
    "EXECUTE_BATCH": 10, "EXECUTE_BATCH_STATUS": 11, "PRELOAD_SCHEDULING_DECISION": 12,
}
NO_HOSTS = "No available hosts"
APP_NOT_REGISTERED = "App not registered in results"


class HttpApi:
    """The aiohttp application in front of a :class:`~faabric.remote.PlannerService`."""

    def __init__(self, service) -> None:
        self.service = service
        self.app = web.Application(client_max_size=512 << 20)
        self.app.add_routes(
            [
                web.get("/ping", self.ping),
                web.put("/f/{user}/{function}", self.upload),
                web.put("/s/{user}/{key}", self.set_state),
                web.get("/s/{user}/{key}", self.get_state),
                web.post("/", self.planner_message),
            ]
        )
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, ports: list[int]) -> list[int]:
        """Serve on each port (0 picks a free one); return the ports bound."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        bound = []
        for port in ports:
            site = web.TCPSite(self._runner, host, port)
            await site.start()
            bound.append(site._server.sockets[0].getsockname()[1])
        log.info("HTTP API on %s port(s) %s", host, ", ".join(map(str, bound)))
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def ping(self, request: web.Request) -> web.Response:
        return web.Response(text="PONG")

    async def upload(self, request: web.Request) -> web.Response:
        try:
            await self.service.upload(request.match_info["user"], request.match_info["function"], await request.read())
        except FaabricError as error:
            return web.Response(status=400, text=f"{type(error).__name__}: {error}")
        return web.Response(text="Function upload complete")

    async def set_state(self, request: web.Request) -> web.Response:
        """Faasm's upload server: set the value and push it to the global tier."""
        data = await request.read()
        try:
            key = self._state_key(request)
            await asyncio.get_running_loop().run_in_executor(None, self.service.global_tier.set, key.name, data)
        except FaabricError as error:
            return self._state_error(error)
        return web.Response(text="State upload complete")

    async def get_state(self, request: web.Request) -> web.Response:
        try:
            key = self._state_key(request)
            value = await asyncio.get_running_loop().run_in_executor(None, self.service.global_tier.get, key.name)
        except FaabricError as error:
            return self._state_error(error)
        if value is None:
            return web.Response(status=404, text=f"No state value {key}")
        return web.Response(body=value)

    @staticmethod
    def _state_key(request: web.Request) -> StateKey:
        user = check_name("user", request.match_info["user"])
        return StateKey.checked(user, request.match_info["key"])

    @staticmethod
    def _state_error(error: FaabricError) -> web.Response:
        status = 503 if isinstance(error, StateBackendUnavailableError) else 400
        return web.Response(status=status, text=f"{type(error).__name__}: {error}")

    async def planner_message(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
            http_type = body.get("http_type", body.get("type", 0))
            kind = HTTP_TYPES.get(http_type, http_type) if isinstance(http_type, str) else int(http_type)
            payload = body.get("payload") or "{}"
            payload = json.loads(payload) if isinstance(payload, str) else payload
        except (ValueError, TypeError, AttributeError) as error:
            return web.Response(status=400, text=f"Bad request: {error}")
        if kind == HTTP_TYPES["EXECUTE_BATCH"]:
            return self.execute_batch(payload)
        if kind == HTTP_TYPES["EXECUTE_BATCH_STATUS"]:
            return self.execute_batch_status(payload)
        if kind in (HTTP_TYPES["FLUSH_EXECUTORS"], HTTP_TYPES["FLUSH_AVAILABLE_HOSTS"]):
            return web.Response(text="Flushed")
        return web.Response(status=400, text=f"Unsupported http_type {http_type!r}")

    def execute_batch(self, request: dict) -> web.Response:
        if not self.service.planner.statistics().hosts:
            return web.Response(status=500, text=NO_HOSTS)
        try:
            messages = [self._message(request, entry) for entry in request.get("messages") or [{}]]
        except (ValueError, TypeError, binascii.Error) as error:
            return web.Response(status=400, text=f"Bad batch request: {error}")
        self.service.planner.submit(messages)
        app_id = messages[0].app_id
        log.info("HTTP: app %d submitted (%s, %d message(s))", app_id, messages[0].name, len(messages))
        return web.json_response({"appId": app_id, "finished": False})

    def _message(self, request: dict, entry: dict) -> Message:
        ids = self.service.ids
        app_id = int(entry.get("appId") or request.get("appId") or 0) or ids.next()
        user = entry.get("user") or request.get("user")
        function = entry.get("function") or request.get("function")
        if not user or not function:
            raise ValueError("a message needs a user and a function")
        return Message(
            id=int(entry.get("id") or 0) or ids.next(),
            app_id=app_id,
            user=user,
            function=function,
            input=base64.b64decode(entry.get("input_data") or entry.get("inputData") or ""),
            cmdline=entry.get("cmdline", ""),
            mpi_world_size=int(entry.get("mpi_world_size") or entry.get("mpiWorldSize") or 0),
        )

    def execute_batch_status(self, request: dict) -> web.Response:
        app_id = int(request.get("appId") or 0)
        results = self.service.planner.app_results(app_id)
        if not results:
            return web.Response(status=500, text=APP_NOT_REGISTERED)
        expected = int(request.get("expectedNumMessages") or 1)
        if len(results) < expected:
            return web.json_response({"appId": app_id, "finished": False, "expectedNumMessages": expected})
        return web.json_response(
            {
                "appId": app_id,
                "finished": True,
                "expectedNumMessages": expected,
                "messageResults": [self._message_json(m) for m in sorted(results, key=_rank_then_start)],
            }
        )

    @staticmethod
    def _message_json(message: Message) -> dict:
        # Like Faasm with CAPTURE_STDOUT: a call that set no output shows what it printed.
        output = (message.output or message.stdout).decode("utf-8", errors="replace")
        return_value = message.return_value if message.return_value is not None else 1
        if message.error is not None:
            output = output or f"{message.error.get('kind')}: {message.error.get('message')}"
            return_value = return_value or 1
        return {
            "id": message.id,
            "appId": message.app_id,
            "user": message.user,
            "function": message.function,
            "output_data": output,
            "returnValue": return_value,
            "start_ts": message.start_ns // 1_000_000,
            "finish_ts": message.finish_ns // 1_000_000,
            "executedHost": message.executed_host,
            "mpiRank": message.mpi_rank,
            "mpi_world_size": message.mpi_world_size,
            "cmdline": message.cmdline,
        }


def _rank_then_start(message: Message) -> tuple[int, int]:
    """Rank 0 (the caller's own message) first, as faasmctl prints the first result."""
    return (message.mpi_rank, message.start_ns)
