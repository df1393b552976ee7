"""Write the internal API's OpenAPI spec (sorted, indented JSON), or check the committed copy.

`--check` exits non-zero when the file differs from what the code generates, so CI catches an
API change whose spec was not regenerated and committed.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_OUTPUT = "openapi/openapi.json"


def render_schema() -> str:
    from project.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    # Round-trip first: status codes are int keys in Ninja's dict and strings in JSON.
    plain = json.loads(json.dumps(schema, ensure_ascii=False))
    return json.dumps(plain, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Export the /api/v1 OpenAPI spec as sorted, indented JSON (or --check it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            default=DEFAULT_OUTPUT,
            help=f"Where to write the spec ('-' for stdout). Default: {DEFAULT_OUTPUT}.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; fail when the file at --output is not up to date.",
        )

    def handle(self, *args: Any, output: str, check: bool, **options: Any) -> None:
        generated = render_schema()
        if output == "-":
            self.stdout.write(generated, ending="")
            return
        path = Path(output)
        if check:
            committed = path.read_text(encoding="utf-8") if path.is_file() else ""
            if committed == generated:
                self.stdout.write(f"{path} is up to date.")
                return
            diff = "".join(
                list(
                    difflib.unified_diff(
                        committed.splitlines(keepends=True),
                        generated.splitlines(keepends=True),
                        fromfile=f"{path} (committed)",
                        tofile="generated from the code",
                    )
                )[:80]
            )
            raise CommandError(
                f"{path} is out of date with the API code. Regenerate it with\n"
                f"    uv run manage.py export_openapi_schema --output {path}\n"
                f"and commit it. First differences:\n{diff}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generated, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")
