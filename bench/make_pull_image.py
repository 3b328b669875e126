#!/usr/bin/env python3
"""Builds a pull benchmark image and pushes it to a registry, with --layer-out also writing the
first layer's .tar.gz there for the per-layer `tar -xzf` comparison.

--kind big (bench/big:1.0): four gzip layers of about 140 MB each (about 550 MB compressed,
770 MB unpacked), part random and part text like real layers: few, large files. Deterministic
(seeded), so a cached registry is reused.

--kind docs (bench/docs:1.0), the hard case: four layers, each this machine's /usr/share/doc
(about 5,900 files and 1,100 directories and links) under its own prefix plus five 13 MB text
files: about 28k files, 800 MB unpacked."""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import testimages  # noqa: E402  (the test-image builder and registry client)

FILES_PER_LAYER = 190
FILE_BYTES = 1 << 20
RANDOM_SHARE = 0.70  # the rest is text: about 0.71 compressed/uncompressed overall


def layer_files(seed):
    rng = random.Random(seed)
    text = b"".join(b"line %d of a configuration file with some words in it\n" % i
                    for i in range(20000))
    layer = testimages.Layer()
    for i in range(FILES_PER_LAYER):
        random_part = rng.randbytes(int(FILE_BYTES * RANDOM_SHARE))
        start = rng.randrange(0, len(text) // 2)
        text_part = text[start:start + FILE_BYTES - len(random_part)]
        layer.file("data/layer%d/file%03d.bin" % (seed, i), random_part + text_part)
    return layer


TEXT_FILES_PER_LAYER = 5
TEXT_FILE_BYTES = 13 << 20


def doc_layer(seed):
    layer = testimages.Layer()
    root = "/usr/share/doc"
    prefix = "layer%d/usr/share/doc" % seed
    layer.dir("layer%d" % seed)
    layer.dir("layer%d/usr" % seed)
    layer.dir("layer%d/usr/share" % seed)
    layer.dir(prefix)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        at = prefix if rel == "." else prefix + "/" + rel
        for name in dirnames + sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                layer.symlink(at + "/" + name, os.readlink(path))
            elif os.path.isdir(path):
                layer.dir(at + "/" + name)
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    layer.file(at + "/" + name, f.read())
    text = b"".join(b"line %d of a log file with a few words in it, layer %d\n" % (i, seed)
                    for i in range(TEXT_FILE_BYTES // 50))[:TEXT_FILE_BYTES]
    for i in range(TEXT_FILES_PER_LAYER):
        layer.file("layer%d/var/log/text%d.log" % (seed, i), text)
    return layer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", required=True)
    ap.add_argument("--layer-out")
    ap.add_argument("--kind", choices=["big", "docs"], default="big")
    args = ap.parse_args()
    reg = testimages.Registry(args.registry)
    reg.ping()
    layers = []
    for seed in range(4):
        raw_layer = layer_files(seed) if args.kind == "big" else doc_layer(seed)
        blob = testimages.make_layer(raw_layer, "gzip", "application/vnd.oci.image.layer.v1.tar+gzip")
        layers.append(blob)
        if seed == 0 and args.layer_out:
            with open(args.layer_out, "wb") as f:
                f.write(blob.data)
        print("layer %d: %.1f MB compressed, %.1f MB raw" % (
            seed, blob.size / 1e6, blob.uncompressed_size / 1e6), file=sys.stderr)
    image = testimages.Image(layers, {"Cmd": ["/bin/true"]}, ["bench layer"] * 4,
                             "application/vnd.oci.image.manifest.v1+json",
                             "application/vnd.oci.image.config.v1+json")
    stats = {"uploaded": 0, "skipped": 0, "bytes": 0}
    testimages.push_image(reg, "bench/" + args.kind, "1.0", image, stats)
    print("%s/bench/%s:1.0 %s (%.1f MB compressed)" % (
        args.registry, args.kind, image.digest, sum(l.size for l in layers) / 1e6), file=sys.stderr)


if __name__ == "__main__":
    main()
