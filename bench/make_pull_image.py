#!/usr/bin/env python3
"""Builds the pull benchmark's image -- four gzip layers of about 140 MB each (about 550 MB
compressed, 770 MB unpacked), part random and part text like real layers -- and pushes it to a
registry as bench/big:1.0. With --layer-out, also writes the first layer's .tar.gz there for the
per-layer `tar -xzf` comparison. Deterministic (seeded), so a cached registry is reused."""
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", required=True)
    ap.add_argument("--layer-out")
    args = ap.parse_args()
    reg = testimages.Registry(args.registry)
    reg.ping()
    layers = []
    for seed in range(4):
        raw_layer = layer_files(seed)
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
    testimages.push_image(reg, "bench/big", "1.0", image, stats)
    print("%s/bench/big:1.0 %s (%.1f MB compressed)" % (
        args.registry, image.digest, sum(l.size for l in layers) / 1e6), file=sys.stderr)


if __name__ == "__main__":
    main()
