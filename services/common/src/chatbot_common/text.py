"""Input rules every service applies to client text and numbers (one definition, shared).

JSON may carry lone UTF-16 surrogates (``"\\ud800"``): Python decodes them into a ``str``
that cannot be encoded as UTF-8, so storing or forwarding it fails deep inside a driver.
Such text is refused where it enters (``invalid``). Sequence numbers are bounded to what every
store and every JSON client represents exactly (2**53 - 1).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StrictInt, StrictStr

MAX_SEQ = 2**53 - 1


def utf8_text(value: str) -> str:
    """``value`` itself, or ValueError when it holds a lone surrogate (not valid Unicode)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


#: A strict string that is valid Unicode.
Text = Annotated[StrictStr, AfterValidator(utf8_text)]
#: A sequence number a client may name (``after_seq``).
Seq = Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]
