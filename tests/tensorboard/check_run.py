"""Reads the runs of tests/tensorboard/write_run with TensorBoard's own event reader and checks
every tag, step and value against expected.json.

    python check_run.py events DIR      # EventAccumulator: scalars, histograms, images, text, hparams
    python check_run.py mnist DIR       # a samples/mnist_keras --tensorboard run: its tags and steps

Prints one line per failed check and `checks: N passed, M failed` last; exits 1 on a failure.
"""
import io
import json
import math
import os
import sys

from tensorboard.backend.event_processing import event_accumulator as ea_mod
from tensorboard.plugins.hparams import metadata as hp_metadata
from tensorboard.util import tensor_util
from PIL import Image

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def close(a, b, rel):
    return abs(a - b) <= rel * max(1.0, abs(b))


def load(run_dir):
    acc = ea_mod.EventAccumulator(run_dir, size_guidance={k: 0 for k in ea_mod.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    return acc


def run_tags(acc):
    return acc.Tags()


def check_events(root):
    with open(os.path.join(root, "expected.json")) as f:
        ex = json.load(f)
    runs = {}

    def acc_of(run):
        if run not in runs:
            runs[run] = load(os.path.join(root, run))
        return runs[run]

    # ---- scalars: every expected (tag, step, value), and no other scalar in those runs ----
    want = {}
    for run, tag, step, value in ex["scalars"]:
        want.setdefault((run, tag), []).append((step, value))
    for (run, tag), points in want.items():
        got = [(e.step, e.value) for e in acc_of(run).Scalars(tag)]
        check([s for s, _ in got] == [s for s, _ in points], f"{run}/{tag}: steps {[s for s, _ in got]} != {[s for s, _ in points]}")
        for (s, v), (_, w) in zip(got, points):
            # simple_value is a float32: 2^-24 relative.
            check(close(v, w, 1e-7) or abs(v - w) <= 6e-8 * abs(w), f"{run}/{tag} step {s}: {v} != {w}")
    for run in {r for r, _ in want}:
        extra = set(acc_of(run).Tags()["scalars"]) - {t for r, t in want if r == run}
        check(not extra, f"{run}: unexpected scalar tags {sorted(extra)}")

    # ---- histograms ----
    hwant = {}
    for run, tag, step, lo, hi, num, s, sq, counts in ex["histograms"]:
        hwant.setdefault((run, tag), []).append((step, lo, hi, num, s, sq, counts))
    for (run, tag), items in hwant.items():
        got = acc_of(run).Histograms(tag)
        check([e.step for e in got] == [i[0] for i in items], f"{run}/{tag}: histogram steps {[e.step for e in got]}")
        for e, (step, lo, hi, num, s, sq, counts) in zip(got, items):
            h = e.histogram_value
            check(close(h.min, lo, 1e-12) and close(h.max, hi, 1e-12), f"{run}/{tag}@{step}: min/max {h.min},{h.max} != {lo},{hi}")
            check(h.num == num, f"{run}/{tag}@{step}: num {h.num} != {num}")
            check(close(h.sum, s, 1e-9) and close(h.sum_squares, sq, 1e-9), f"{run}/{tag}@{step}: sum {h.sum}, {h.sum_squares}")
            check(sum(h.bucket) == num, f"{run}/{tag}@{step}: bucket counts sum to {sum(h.bucket)}, not {num}")
            check(len(h.bucket_limit) == len(h.bucket) and list(h.bucket_limit) == sorted(h.bucket_limit)
                  and close(h.bucket_limit[-1], hi, 1e-12), f"{run}/{tag}@{step}: bucket limits {list(h.bucket_limit)}")
            if counts is not None:
                check(list(h.bucket) == counts, f"{run}/{tag}@{step}: buckets {list(h.bucket)} != {counts}")
    for run in {r for r, _ in hwant}:
        extra = set(acc_of(run).Tags()["histograms"]) - {t for r, t in hwant if r == run}
        check(not extra, f"{run}: unexpected histogram tags {sorted(extra)}")

    # ---- images: decoded by Pillow, size, mode and pixels ----
    for run, tag, step, width, height, channels, pattern in ex["images"]:
        got = [e for e in acc_of(run).Images(tag) if e.step == step]
        check(len(got) == 1, f"{run}/{tag}: {len(got)} images at step {step}")
        if not got:
            continue
        e = got[0]
        check((e.width, e.height) == (width, height), f"{run}/{tag}: proto size {e.width}x{e.height}")
        img = Image.open(io.BytesIO(e.encoded_image_string))
        check(img.format == "PNG" and img.size == (width, height), f"{run}/{tag}: decoded {img.format} {img.size}")
        check(img.mode == {1: "L", 3: "RGB", 4: "RGBA"}[channels], f"{run}/{tag}: mode {img.mode}")
        px = img.load()
        if pattern == "rgb_gradient":
            ok = all(px[x, y] == (x * 8, y * 10, 200) for x in range(width) for y in range(height))
        else:
            ok = all(px[x, y] == 128 for x in range(width) for y in range(height))
        check(ok, f"{run}/{tag}: pixels do not match {pattern}")

    # ---- text: the text plugin's string tensors ----
    for run, tag, step, text in ex["texts"]:
        acc = acc_of(run)
        check(tag in acc.PluginTagToContent("text"), f"{run}/{tag}: not a text-plugin tag")
        got = [e for e in acc.Tensors(tag) if e.step == step]
        check(len(got) == 1, f"{run}/{tag}: {len(got)} texts at step {step}")
        if got:
            arr = tensor_util.make_ndarray(got[0].tensor_proto)
            check(arr.shape == () and arr.item().decode() == text, f"{run}/{tag}@{step}: {arr!r} != {text!r}")

    # ---- hparams: parsed by the hparams plugin's own metadata functions ----
    for run, hparams, metrics in ex["hparams"]:
        acc = acc_of(run)
        content = acc.PluginTagToContent("hparams")
        tags = {hp_metadata.SESSION_START_INFO_TAG} | ({hp_metadata.EXPERIMENT_TAG} if metrics else set())
        check(set(content) == tags, f"{run}: hparams tags {sorted(content)}")
        if hp_metadata.SESSION_START_INFO_TAG in content:
            ssi = hp_metadata.parse_session_start_info_plugin_data(content[hp_metadata.SESSION_START_INFO_TAG])
            got = {k: getattr(v, v.WhichOneof("kind")) for k, v in ssi.hparams.items()}
            check(got == hparams, f"{run}: session hparams {got} != {hparams}")
        if hp_metadata.EXPERIMENT_TAG in content:
            exp = hp_metadata.parse_experiment_plugin_data(content[hp_metadata.EXPERIMENT_TAG])
            check([h.name for h in exp.hparam_infos] == list(hparams), f"{run}: experiment hparams {[h.name for h in exp.hparam_infos]}")
            got_m = [[m.name.group, m.name.tag] for m in exp.metric_infos]
            check(got_m == metrics, f"{run}: experiment metrics {got_m} != {metrics}")


def check_mnist(root):
    epochs = int(os.environ.get("MNIST_EPOCHS", "2"))
    train, val = load(os.path.join(root, "train")), load(os.path.join(root, "validation"))
    for acc, tags in ((train, ["epoch_loss", "epoch_accuracy", "epoch_learning_rate"]),
                      (val, ["epoch_loss", "epoch_accuracy"])):
        for tag in tags:
            ev = acc.Scalars(tag) if tag in acc.Tags()["scalars"] else []
            check([e.step for e in ev] == list(range(epochs)), f"mnist {tag}: steps {[e.step for e in ev]}")
            check(all(math.isfinite(e.value) for e in ev), f"mnist {tag}: values {[e.value for e in ev]}")
    loss = [e.value for e in train.Scalars("epoch_loss")]
    check(len(loss) >= 2 and loss[-1] < loss[0], f"mnist epoch_loss did not fall: {loss}")
    check(set(train.Tags()["histograms"]) == {"0/kernel", "0/bias", "1/kernel", "1/bias", "2/kernel", "2/bias"},
          f"mnist histograms {train.Tags()['histograms']}")
    images = load(os.path.join(root, "images"))
    for i in range(3):
        ev = images.Images(f"train_images/{i}")
        check(len(ev) == 1 and Image.open(io.BytesIO(ev[0].encoded_image_string)).size == (28, 28), f"mnist image {i}")
    top = load(root)
    check(hp_metadata.SESSION_START_INFO_TAG in top.PluginTagToContent("hparams"), "mnist hparams")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("events", "mnist"):
        print(__doc__)
        sys.exit(2)
    (check_events if sys.argv[1] == "events" else check_mnist)(sys.argv[2])
    print(f"checks: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
