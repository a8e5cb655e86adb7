"""The installed desktop package's tray app shows its tray item and quits from it.

Run inside Xvfb and a private session bus (tests/packaging/run.sh does), with the venv of
tests/tray (dbus-next). It plays the desktop's panel with tests/tray/tray_test.py's Desktop,
starts the installed /usr/bin/gantry-tray on a free port with a throwaway home and data
directory, reads its menu, then clicks *Quit*. Exit status 0 when all of that worked.
"""
import asyncio
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tray"))
from tray_test import Desktop, exited, free_port, launch, status, wait_for  # noqa: E402


async def main(app):
    work = tempfile.mkdtemp(prefix="gantry-packaged-tray-")
    os.environ["HOME"] = os.path.join(work, "home")
    os.makedirs(os.environ["HOME"])
    os.environ["BROWSER"] = "true"  # the launch opens the dashboard: nowhere, here
    os.environ["GANTRY_SECRETS"] = "file"  # the throwaway data dir, not a keychain
    desktop = Desktop()
    await desktop.start()
    port = free_port()
    since = desktop.mark()
    log = open(os.path.join(work, "tray.log"), "w")
    proc = await launch(app, "--port", str(port), "--data-dir", os.path.join(work, "data"), "--simulate", "1", log=log)
    tray = await desktop.tray(since)
    if tray is None:
        print("the installed tray app registered no tray item")
        proc.kill()
        return 1
    line = await wait_for("the simulated printer's line", lambda: tray.find_prefix("Simulated printer 1 — "))
    labels = [i["label"] for i in await tray.items() if i["type"] != "separator"]
    print(f"menu: {labels}")
    served = status(port) is not None
    await tray.click("Quit")
    code = await exited(proc, 60)
    print(f"printer line: {bool(line)}, service answered: {served}, exit after Quit: {code}")
    return 0 if line and served and code == 0 and "Open dashboard" in labels else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/gantry-tray")))
