"""Checks the Windows installer configuration here, where neither WiX nor NSIS runs.

- The Tauri CLI (the same binary `tauri build` is) loads src-tauri/tauri.conf.json, which it
  validates against its schema, and reports the MSI upgrade code it will use.
- installers/windows/main.wxs, the MSI template, is rendered the way Tauri renders it
  (Handlebars, with the values Tauri passes) for the cases that occur, and each result must be
  well-formed XML that installs per user: every component keyed in HKCU (ICE38), every folder
  it creates removed on uninstall (ICE64), a Start-menu entry, Start at login, nothing in the
  user's data.
- The NSIS configuration is per user and its hooks remove the login item on uninstall.

Only the Windows runner of .github/workflows/release.yml compiles and links them.
Prints `installers: N passed, M failed` last. Run from anywhere: python3 tests/packaging/installers.py
"""
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WIX = "{http://schemas.microsoft.com/wix/2006/wi}"
RESULTS = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    RESULTS["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f" -- {detail}" if detail and not ok else ""), flush=True)
    return ok


# --- A Handlebars subset: what the template uses, with Handlebars' rules for it ---------------
# {{name}}, {{ name }}, {{#if x}}..{{else}}..{{/if}}, {{#unless x}}..{{/unless}},
# {{#each list as |item| ~}}..{{/each~}} (`~` trims the whitespace on that side), and `\{{`,
# which prints the braces literally while `\\{{` prints one backslash and the value.

TOKEN = re.compile(r"(\\\\)?(\\)?\{\{(~?)\s*([#/]?)([^}~]*?)\s*(~?)\}\}")


def truthy(value):
    return bool(value) and value != "false"


def tokens(template):
    pos = 0
    for m in TOKEN.finditer(template):
        double, single, ltrim, kind, body, rtrim = m.groups()
        if single and not double:  # \{{...}}: literal
            yield ("text", template[pos:m.start()] + m.group(0)[1:])
            pos = m.end()
            continue
        text = template[pos:m.start()] + ("\\" if double else "")
        yield ("text", text.rstrip() if ltrim else text)
        yield ("tag", kind, body.strip(), bool(rtrim))
        pos = m.end()
    yield ("text", template[pos:])


def parse(stream, closing=None):
    """A tree of ("text", s) / ("var", name) / ("block", kind, arg, alias, body, else_body)."""
    out, other = [], None
    target = out
    trim_next = False
    for tok in stream:
        if tok[0] == "text":
            text = tok[1].lstrip() if trim_next else tok[1]
            trim_next = False
            target.append(("text", text))
            continue
        _, kind, body, rtrim = tok
        trim_next = rtrim
        if kind == "#":
            name, _, rest = body.partition(" ")
            alias = None
            m = re.match(r"(\S+)\s+as\s+\|(\w+)\|", rest)
            arg = m.group(1) if m else rest.strip()
            if m:
                alias = m.group(2)
            inner, else_body, trimmed = parse(stream, name)
            trim_next = trimmed
            target.append(("block", name, arg, alias, inner, else_body or []))
        elif kind == "/":
            if body != closing:
                raise ValueError(f"{{{{/{body}}}}} closes {{{{#{closing}}}}}")
            return out, other, rtrim
        elif body == "else":
            other = []
            target = other
        else:
            target.append(("var", body))
    if closing:
        raise ValueError(f"{{{{#{closing}}}}} is never closed")
    return out, other, False


def lookup(scope, name):
    for frame in reversed(scope):
        if name in frame:
            return frame[name]
    return None


def render_nodes(nodes, scope):
    out = []
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "var":
            value = lookup(scope, node[1])
            out.append("" if value is None else str(value))
        else:
            _, kind, arg, alias, body, else_body = node
            value = lookup(scope, arg)
            if kind == "if":
                out.append(render_nodes(body if truthy(value) else else_body, scope))
            elif kind == "unless":
                out.append(render_nodes(else_body if truthy(value) else body, scope))
            elif kind == "each":
                for item in value or []:
                    out.append(render_nodes(body, scope + [{alias or "this": item}]))
            else:
                raise ValueError(f"unsupported block {kind}")
    return "".join(out)


def render(template, data):
    nodes, _, _ = parse(tokens(template))
    return render_nodes(nodes, [data])


# --- What Tauri passes (tauri-bundler, bundle/windows/msi) --------------------------------------

def tauri_values(**overrides):
    data = {
        "product_name": "Gantry",
        "version": "0.1.0",
        "manufacturer": "The Gantry developers",
        "bundle_id": "org.gantry.tray",
        "upgrade_code": "dcb02450-01e6-54ea-b3d5-096347dca9d9",
        "path_component_guid": "1f0e4c1a-9f3b-5d0e-8a55-3c2b7d4e6a10",
        "main_binary_path": "C:\\a\\gantry\\target\\release\\gantry-tray.exe",
        "main_binary_name": "gantry-tray",
        "icon_path": "C:\\a\\gantry\\target\\release\\resources\\icon.ico",
        "allow_downgrades": True,
        "binaries": [],
        "resources": "",
        "resource_file_ids": [],
        "merge_modules": [],
        "component_group_refs": [],
        "component_refs": [],
        "feature_group_refs": [],
        "feature_refs": [],
        "merge_refs": [],
        "install_webview": True,
        "download_bootstrapper": True,
        "webview_installer_args": "&apos;/silent&apos;,",
    }
    data.update(overrides)
    return data


def preprocess(text):
    """WiX's preprocessor for what the template uses: drops `<?if?>` branches, keeps the rest.
    Returns the XML and the `<?error?>` messages of the branches taken."""
    text = re.sub(r"<\?if .*?\?>.*?<\?endif\?>", "", text, flags=re.S)
    errors = re.findall(r"<\?error (.*?)\?>", text)
    return re.sub(r"<\?(define|error) .*?\?>", "", text), errors


def msi_checks(name, xml_text):
    """What Windows Installer's validation (ICE38, ICE64) and Gantry's design ask of the MSI."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        check(f"{name}: well-formed XML", False, str(e))
        return
    check(f"{name}: well-formed XML", True)
    package = root.find(f"{WIX}Product/{WIX}Package")
    check(f"{name}: per-user package without elevation",
          package is not None and package.get("InstallScope") == "perUser"
          and package.get("InstallPrivileges") == "limited", str(package.attrib if package is not None else None))

    dirs = {}

    def walk(node, parent):
        for d in node.findall(f"{WIX}Directory"):
            dirs[d.get("Id")] = parent
            walk(d, d.get("Id"))
    walk(root.find(f"{WIX}Product"), None)
    user_roots = {"LocalAppDataFolder", "AppDataFolder", "ProgramMenuFolder", "DesktopFolder", "StartupFolder"}

    def in_profile(d):
        while d:
            if d in user_roots:
                return True
            d = dirs.get(d)
        return False
    check(f"{name}: installs under %LOCALAPPDATA%\\Programs",
          dirs.get("INSTALLDIR") == "LocalProgramsFolder" and dirs.get("LocalProgramsFolder") == "LocalAppDataFolder",
          str(dirs))
    check(f"{name}: nothing under Program Files or the system", not any(
        d.startswith(("ProgramFiles", "System", "Windows", "CommonAppData")) for d in dirs), str(dirs))

    components = []
    for ref in root.iter(f"{WIX}DirectoryRef"):
        for c in ref.findall(f"{WIX}Component"):
            components.append((ref.get("Id"), c))
    problems = []
    for directory, c in components:
        keyed = [e for e in c if e.get("KeyPath") == "yes"]
        if not (len(keyed) == 1 and keyed[0].tag == f"{WIX}RegistryValue" and keyed[0].get("Root") == "HKCU"):
            problems.append(f"{c.get('Id')} is not keyed by one HKCU registry value (ICE38)")
        for e in c.iter():
            if e.get("Root") not in (None, "HKCU"):
                problems.append(f"{c.get('Id')} writes {e.get('Root')} (per machine)")
    check(f"{name}: every component is keyed in HKCU and writes only HKCU", components and not problems, "; ".join(problems))

    removed = {rf.get("Directory") or dir_id for dir_id, c in components for rf in c.findall(f"{WIX}RemoveFolder")
               if rf.get("On") == "uninstall"}
    created = {d for d in dirs if in_profile(d) and d not in user_roots}
    check(f"{name}: every folder it creates in the profile is removed on uninstall (ICE64)",
          created <= removed, f"created={sorted(created)} removed={sorted(removed)}")

    shortcuts = [s for s in root.iter(f"{WIX}Shortcut") if s.get("Id") == "StartMenuShortcut"]
    aumid = [p.get("Value") for s in shortcuts for p in s.findall(f"{WIX}ShortcutProperty")
             if p.get("Key") == "System.AppUserModel.ID"]
    check(f"{name}: a Start-menu entry whose AppUserModelID lets notifications show",
          shortcuts and dirs.get(next(d for d, c in components if shortcuts[0] in list(c.iter()))) == "ProgramMenuFolder"
          and aumid == ["org.gantry.tray"], f"aumid={aumid}")

    run = [v for v in root.iter(f"{WIX}RegistryValue")
           if v.get("Key") == "Software\\Microsoft\\Windows\\CurrentVersion\\Run"]
    check(f"{name}: Start at login: the app's own Run value, quoted, with --autostart",
          len(run) == 1 and run[0].get("Root") == "HKCU" and run[0].get("Name") == "gantry-tray"
          and run[0].get("Value") == '"[#MainExecutable]" --autostart', str([r.attrib for r in run]))
    refs = {r.get("Id") for r in root.iter(f"{WIX}ComponentRef")}
    check(f"{name}: the feature installs every component", {c.get("Id") for _, c in components} <= refs,
          f"refs={sorted(refs)}")
    roaming = [e.tag for e in root.iter() if "RemoveFolderEx" in e.tag or any(
        "[AppDataFolder]" in v for v in e.attrib.values())]
    check(f"{name}: nothing touches the user's data (%APPDATA%\\Gantry)",
          "AppDataFolder" not in dirs and not roaming, f"dirs={sorted(dirs)} {roaming}")
    keys = [v.get("Key") for v in root.iter(f"{WIX}RegistryValue")] + [
        s.get("Key") for s in root.iter(f"{WIX}RegistrySearch")]
    check(f"{name}: registry keys name the publisher and product",
          "Software\\The Gantry developers\\Gantry" in keys, str(keys))


def main():
    os.chdir(ROOT)
    config = json.load(open("src-tauri/tauri.conf.json"))
    windows = config["bundle"]["windows"]

    cli = os.path.join(ROOT, "node_modules", ".bin", "tauri")
    if os.access(cli, os.X_OK):
        # The CLI validates the whole file against its schema before answering.
        out = subprocess.run([cli, "inspect", "wix-upgrade-code"], capture_output=True, text=True, timeout=120)
        text = out.stdout + out.stderr
        check("the Tauri CLI accepts tauri.conf.json (its schema)", out.returncode == 0, text.strip()[-400:])
        pinned = windows["wix"].get("upgradeCode")
        check("the MSI upgrade code is pinned to the one Tauri derives for Gantry",
              pinned and f"Default WiX Upgrade Code, derived from Gantry: {pinned}" in text, text.strip()[-400:])
    else:
        check("the Tauri CLI is installed (npm ci)", False, cli)

    template_path = windows["wix"].get("template")
    check("the MSI uses Gantry's per-user template", template_path == "../installers/windows/main.wxs", str(template_path))
    template = open(os.path.join("src-tauri", template_path)).read()
    try:
        ET.fromstring(preprocess(template)[0])
        check("the template itself is well-formed XML", True)
    except ET.ParseError as e:
        check("the template itself is well-formed XML", False, str(e))
    for path in windows["wix"].get("fragmentPaths", []):
        try:
            ET.parse(os.path.join("src-tauri", path))
            check(f"fragment {path} is well-formed XML", True)
        except ET.ParseError as e:
            check(f"fragment {path} is well-formed XML", False, str(e))

    cases = {
        "MSI (defaults)": tauri_values(),
        "MSI (no downgrades)": tauri_values(allow_downgrades=False),
        "MSI (with a license)": tauri_values(license="C:\\a\\LICENSE.rtf"),
        "MSI (WebView2 skipped)": tauri_values(install_webview=False, download_bootstrapper=False),
    }
    for name, data in cases.items():
        rendered, errors = preprocess(render(template, data))
        check(f"{name}: renders without a build error", not errors, str(errors))
        msi_checks(name, rendered)
    rendered = render(template, tauri_values(install_webview=False))
    check("MSI (defaults): the upgrade code and version reach the package",
          'UpgradeCode="dcb02450-01e6-54ea-b3d5-096347dca9d9"' in rendered and 'Version="0.1.0"' in rendered)
    _, errors = preprocess(render(template, tauri_values(binaries=[{"id": "x", "guid": "g", "path": "p"}])))
    check("a sidecar stops the MSI build with a message instead of installing it per machine", len(errors) == 1, str(errors))
    _, errors = preprocess(render(template, tauri_values(merge_modules=[{"name": "vc", "path": "vc.msm"}])))
    check("a merge module (per machine) stops the MSI build", len(errors) == 1, str(errors))

    nsis = windows["nsis"]
    check("NSIS installs per user (installMode currentUser)", nsis.get("installMode") == "currentUser", str(nsis))
    hooks = open(os.path.join("src-tauri", nsis["installerHooks"])).read()
    post_uninstall = hooks.split("!macro NSIS_HOOK_POSTUNINSTALL", 1)[-1].split("!macroend", 1)[0]
    check("NSIS: install writes the login item, uninstall removes it",
          re.search(r'WriteRegStr HKCU "\$\{GANTRY_RUN_KEY\}" "\$\{GANTRY_RUN_VALUE\}"', hooks) is not None
          and 'DeleteRegValue HKCU "${GANTRY_RUN_KEY}" "${GANTRY_RUN_VALUE}"' in post_uninstall, post_uninstall)
    check("NSIS: uninstall keeps the user's data unless asked",
          re.search(r"\$\{If\} \$DeleteAppDataCheckboxState = 1\s+RMDir /r \"\$APPDATA\\Gantry\"", post_uninstall) is not None,
          post_uninstall)
    check("the bundle builds the MSI and the NSIS installer",
          {"msi", "nsis"} <= set(config["bundle"]["targets"]), str(config["bundle"]["targets"]))

    print(f"installers: {RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
