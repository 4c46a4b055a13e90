#!/bin/sh
# Regenerates the screenshots of docs/aio-tool.md with headless Chromium (Debian's chromium package):
#   aio-dashboard.png       the dashboard of `aio watch --dashboard` (100 rounds of history, then a live one)
#   aio-fetch-terminal.png  `aio fetch`'s table as a terminal shows it (Spectre's recorder, exported as HTML)
# They are written by the screenshot tests of tests/Aio.Cli.Tests (DashboardBrowserTests), which save every run's
# pictures under their output directory and, with AIO_SCREENSHOTS_TO set, here too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AIO_SCREENSHOTS_TO="$here" dotnet test "$root/tests/Aio.Cli.Tests" --filter "FullyQualifiedName~_Screenshot" "$@"
ls -l "$here/aio-dashboard.png" "$here/aio-fetch-terminal.png"
