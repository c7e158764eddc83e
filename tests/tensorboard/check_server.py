"""Starts the real TensorBoard server on the runs of tests/tensorboard/write_run and checks, over
its HTTP API, what its dashboards show: the enabled plugins, the scalars, the text and the
HPARAMS tab's session groups (with their hyperparameters and metrics).

    python check_server.py DIR          # DIR holds writer/, fit/ and expected.json

Prints one line per failed check and `checks: N passed, M failed` last; exits 1 on a failure.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def main(root):
    with open(os.path.join(root, "expected.json")) as f:
        ex = json.load(f)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    log = open(os.path.join(root, "server.log"), "w")
    server = subprocess.Popen([exe, "--logdir", root, "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def get(path, body=None):
        req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=20) as r:
            return json.loads(r.read())

    try:
        want_runs = {"writer", "fit", "fit/train", "fit/validation"}
        runs, deadline = [], time.time() + 90
        while time.time() < deadline:
            try:
                runs = get("/data/runs")
                if want_runs <= set(runs):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        check(want_runs <= set(runs), f"runs {runs}")
        # The first load may still be reading the runs' contents: give it a moment.
        time.sleep(2)
        plugins = get("/data/plugins_listing")
        for p in ("scalars", "histograms", "images", "text", "hparams"):
            check(plugins.get(p, {}).get("enabled"), f"plugin {p} not enabled")
        for run, tag, step, value in ex["scalars"]:
            if run != "fit/train" or tag != "epoch_loss":
                continue
            pts = get(f"/data/plugin/scalars/scalars?run={run}&tag={tag}")
            got = [p[2] for p in pts if p[1] == step]
            check(len(got) == 1 and abs(got[0] - value) <= 1e-6 * max(1, abs(value)), f"{run}/{tag}@{step}: {got} != {value}")
        texts = get("/data/plugin/text/text?run=writer&tag=notes")
        check([t["step"] for t in texts] == [0, 4] and "<strong>markdown</strong>" in texts[0]["text"],
              f"text: {texts}")
        groups = get("/data/plugin/hparams/session_groups", {
            "experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": [],
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]})
        by_session = {g["sessions"][0]["name"]: g for g in groups.get("sessionGroups", []) if g.get("sessions")}
        for run, hparams, metrics in ex["hparams"]:
            g = by_session.get(run)
            check(g is not None, f"HPARAMS: no session for {run} (have {sorted(by_session)})")
            if g is None:
                continue
            check(g["hparams"] == hparams, f"HPARAMS {run}: {g['hparams']} != {hparams}")
            shown = [[m["name"].get("group", ""), m["name"]["tag"]] for m in g["sessions"][0]["metricValues"]]
            check(all(m in shown for m in metrics), f"HPARAMS {run}: metrics {shown} lack some of {metrics}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1])
    print(f"checks: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
