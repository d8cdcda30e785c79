"""Chaining calls by name or by function pointer, and awaiting their results."""

from __future__ import annotations

from granules.context import ActiveCall

MAX_FUNCTION_NAME = 255


def chain_name(call: ActiveCall, name: int, input_data: int, input_len: int) -> int:
    """Call function ``name`` of the same user with the given input.

    Returns: the new call's id.
    Traps: FunctionNotFoundError if no such function is uploaded;
        GuestMemoryError for bad pointers.
    """
    function = call.memory.read_cstr(name, "function name", limit=MAX_FUNCTION_NAME)
    data = call.memory.read(input_data, input_len, "chained input")
    return call.context.chain(function, data)


def chain_ptr(call: ActiveCall, func_ptr: int, input_data: int, input_len: int) -> int:
    """Run function-table entry ``func_ptr`` of this module in a new granule.

    Returns: the new call's id.
    Traps: GuestMemoryError for bad pointers; the new call fails if the
        pointer is not a table entry.
    """
    data = call.memory.read(input_data, input_len, "chained input")
    return call.context.chain(call.message.function, data, func_ptr=func_ptr)


def await_call(call: ActiveCall, message_id: int) -> int:
    """Wait for chained call ``message_id``.

    Returns: its return value (1 if it failed with an error).
    Traps: UnknownCallError for an id never issued; CallTimeoutError.
    """
    result = call.context.await_result(message_id & 0xFFFFFFFF)
    return _return_value(result)


def await_call_output(call: ActiveCall, message_id: int, output_ptr_ptr: int, output_len_ptr: int) -> int:
    """Wait for a chained call and hand its output to the guest.

    The output is copied into fresh pages at the end of linear memory (as
    Faasm does); ``*output`` and ``*outputLen`` receive its address and size.

    Returns: the call's return value.
    Traps: as :func:`await_call`; GuestMemoryError for bad pointers.
    """
    memory = call.memory
    memory.check(output_ptr_ptr, 4, "output pointer")
    memory.check(output_len_ptr, 4, "output length pointer")
    result = call.context.await_result(message_id & 0xFFFFFFFF)
    output = result.output
    address = memory.grow(len(output)) if output else 0
    if output:
        memory.write(address, output, "chained output")
    memory.write_u32(output_ptr_ptr, address, "output pointer")
    memory.write_i32(output_len_ptr, len(output), "output length")
    return _return_value(result)


def _return_value(result) -> int:
    if result.error is not None or result.return_value is None:
        return 1
    return result.return_value


def register(host_functions) -> None:
    host_functions.define("__faasm_chain_name", "iii", "i", chain_name)
    host_functions.define("__faasm_chain_ptr", "iii", "i", chain_ptr)
    host_functions.define("__faasm_await_call", "i", "i", await_call)
    host_functions.define("__faasm_await_call_output", "iii", "i", await_call_output)
