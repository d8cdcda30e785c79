"""Input, output and configuration flags: ``__faasm_read_input`` and friends."""

from __future__ import annotations

from granules.context import ActiveCall

ALWAYS_ON = "ALWAYS_ON"
ALWAYS_OFF = "ALWAYS_OFF"


def read_input(call: ActiveCall, buffer: int, buffer_len: int) -> int:
    """Copy the call's input into ``buffer``.

    Returns: the input's size when ``buffer_len`` is 0, else the bytes copied.
    Traps: GuestMemoryError for a negative length or a buffer outside memory.
    """
    data = call.message.input
    if buffer_len == 0:
        return len(data)
    call.memory.check(buffer, buffer_len, "input buffer")
    chunk = data[:buffer_len]
    call.memory.write(buffer, chunk, "input buffer")
    return len(chunk)


def write_output(call: ActiveCall, output: int, output_len: int) -> None:
    """Set the call's output to ``output_len`` bytes at ``output``.

    Traps: GuestMemoryError for a negative length or a range outside memory.
    """
    call.message.output = call.memory.read(output, output_len, "output")


def conf_flag(call: ActiveCall, key: int) -> int:
    """Returns: 1 if configuration flag ``key`` is on, else 0."""
    name = call.memory.read_cstr(key, "flag name")
    if name == ALWAYS_ON:
        return 1
    if name == ALWAYS_OFF:
        return 0
    return int(call.context.conf_flag(name))


def register(host_functions) -> None:
    host_functions.define("__faasm_read_input", "ii", "i", read_input)
    host_functions.define("__faasm_write_output", "ii", "", write_output)
    host_functions.define("__faasm_conf_flag", "i", "i", conf_flag)
