#!/usr/bin/python3
"""Builds small deterministic test images from /bin/busybox and pushes them to a registry.

Usage:
  scripts/testimages.py --registry 127.0.0.1:PORT [--user U --password P]
                        [--out FILE.json] [--check]

Everything is built in memory from Debian's busybox-static (/bin/busybox); the only external
tool is the zstd CLI for the zstd layer. Output is deterministic on a given host: fixed mtimes
(2024-01-01T00:00:00Z), uid/gid 0 unless stated, sorted entries, gzip with mtime 0, and
configs/manifests serialised with a fixed key order. Digests still differ between hosts whose
busybox binary differs, so tests must read them from the JSON this script prints.

Pushing uses the OCI distribution API over plain HTTP on one keep-alive connection:
HEAD the blob (skip when present), else POST /v2/<name>/blobs/uploads/ and PUT
<location>&digest=<digest> (monolithic upload), then PUT /v2/<name>/manifests/<ref>.
Running it twice is harmless: the second run uploads no blobs and re-puts identical manifests.

Pushed references (see build_all()):
  stockade-test/busybox:1.0, stockade-test/busybox:latest, library/busybox:latest  OCI, 3 gzip layers
  stockade-test/multi:1.0        OCI index: linux/amd64 (= busybox:1.0), linux/arm64, freebsd/amd64
  stockade-test/docker:1.0       busybox content with Docker schema 2 media types
  stockade-test/docker-list:1.0  Docker manifest list -> docker:1.0 for linux/amd64
  stockade-test/zstd:1.0         one tar+zstd layer
  stockade-test/plain:1.0        one uncompressed tar layer
  pause:3.9                      one layer, Entrypoint ["/bin/sleep", "infinity"]
  stockade-test/umoci:1.0        a umoci-style layer ("/", /bin/...) and a "./"-prefixed one
  stockade-test/hostile:TAG      links, fifo-accounts, fifo-hosts, scratch: see hostile_images()

JSON output (stdout, and --out): {"registry": HOST:PORT, "images": [ENTRY...]} where ENTRY is
  {"ref", "repository", "tag", "manifest_digest", "manifest_size", "media_type",
   "config_digest", "config_size", "config_media_type", "platform": {"os", "architecture"},
   "layers": [{"digest", "diff_id", "size", "uncompressed_size", "media_type"}],
   "index_digest": null}
for image manifests, and for indexes / manifest lists
  {"ref", "repository", "tag", "manifest_digest", "manifest_size", "media_type",
   "index_digest" (== manifest_digest), "config_digest": null, "layers": [],
   "manifests": [ENTRY without "ref"/"tag", with "platform"]}.

--check reads every reference back (by tag and by digest, with a matching Accept header),
verifies the bytes' sha256, the Docker-Content-Digest and Content-Type headers, every blob's
digest, and every layer's diff_id after decompression; then prints "ok N images" on stderr
(stdout stays pure JSON). Any failure exits non-zero.
"""

import argparse
import base64
import copy
import gzip
import hashlib
import http.client
import io
import json
import subprocess
import sys
import tarfile
import urllib.parse

BUSYBOX = "/bin/busybox"
MTIME = 1704067200  # 2024-01-01T00:00:00Z
CREATED = "2024-01-01T00:00:00Z"

# Media types.
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT_ALL = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])

BUSYBOX_LINKS = ["sh", "ls", "cat", "echo", "id", "sleep", "env", "hostname", "true", "false",
                 "touch", "mkdir", "rm", "head", "wc", "ps", "stat", "readlink", "tail", "dd",
                 "grep", "kill", "cut", "mount", "unshare", "ping", "nc", "httpd",
                 "wget", "ip"]


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj):
    """Compact JSON with the caller's key order: the bytes are what gets digested."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------------------------------------
# Layer building

class Layer:
    """An in-memory tar layer described by a list of entries, serialised deterministically."""

    def __init__(self, names="plain"):
        """names: how entry names are written: "plain" (etc/x), "umoci" ("/" first, then
        /etc/x, as Debian's umoci 0.4.7 writes every layer) or "dot" (./etc/x)."""
        self.entries = {}  # name -> (TarInfo, data or None)
        self.names = names

    def _add(self, name, type_, mode, uid=0, gid=0, data=None, linkname="", pax=None):
        name = name.strip("/")
        # Implicit parent directories (root-owned 0755), unless added explicitly already.
        parts = name.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in self.entries:
                self.dir(parent)
        info = tarfile.TarInfo(name)
        info.type = type_
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.uname = info.gname = ""
        info.mtime = MTIME
        info.linkname = linkname
        info.size = len(data) if data is not None else 0
        if pax:
            info.pax_headers = dict(pax)
        self.entries[name] = (info, data)
        return self

    def dir(self, name, mode=0o755, uid=0, gid=0):
        return self._add(name, tarfile.DIRTYPE, mode, uid, gid)

    def file(self, name, data, mode=0o644, uid=0, gid=0, pax=None):
        if isinstance(data, str):
            data = data.encode()
        return self._add(name, tarfile.REGTYPE, mode, uid, gid, data=data, pax=pax)

    def symlink(self, name, target):
        return self._add(name, tarfile.SYMTYPE, 0o777, linkname=target)

    def fifo(self, name, mode=0o644):
        return self._add(name, tarfile.FIFOTYPE, mode)

    def hardlink(self, name, target):
        return self._add(name, tarfile.LNKTYPE, 0o644, linkname=target.strip("/"))

    def tar(self):
        """Uncompressed tar bytes: entries sorted by name, except that hard links come last so
        that their targets always precede them (a tar hard link may only point backwards)."""
        names = sorted(self.entries)
        order = ([n for n in names if self.entries[n][0].type != tarfile.LNKTYPE] +
                 [n for n in names if self.entries[n][0].type == tarfile.LNKTYPE])
        prefix = {"plain": "", "umoci": "/", "dot": "./"}[self.names]
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            if self.names == "umoci":
                root = tarfile.TarInfo("/")
                root.type, root.mode, root.mtime = tarfile.DIRTYPE, 0o755, MTIME
                tf.addfile(root)
            for name in order:
                info, data = self.entries[name]  # tarfile appends "/" to directory names
                if prefix:
                    info = copy.copy(info)
                    info.name = prefix + info.name
                    if info.type == tarfile.LNKTYPE:
                        info.linkname = prefix + info.linkname
                tf.addfile(info, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()


def compress(tar_bytes, kind):
    if kind == "gzip":
        # mtime=0 and no file name in the header keep the output byte-for-byte reproducible.
        out = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
            gz.write(tar_bytes)
        return out.getvalue()
    if kind == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3", "-T1", "--no-progress", "-"],
                              input=tar_bytes, stdout=subprocess.PIPE, check=True).stdout
    if kind == "none":
        return tar_bytes
    raise ValueError(kind)


def decompress(blob, media_type):
    if media_type.endswith("gzip"):
        return gzip.decompress(blob)
    if media_type.endswith("zstd"):
        return subprocess.run(["zstd", "-q", "-d", "-c", "-"], input=blob,
                              stdout=subprocess.PIPE, check=True).stdout
    return blob


# ---------------------------------------------------------------------------------------------
# Image model

class Blob:
    def __init__(self, data, media_type, diff_id=None, uncompressed_size=None):
        self.data = data
        self.media_type = media_type
        self.digest = sha256(data)
        self.size = len(data)
        self.diff_id = diff_id
        self.uncompressed_size = uncompressed_size

    def descriptor(self):
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def make_layer(layer, kind, media_type):
    raw = layer.tar()
    return Blob(compress(raw, kind), media_type, diff_id=sha256(raw), uncompressed_size=len(raw))


class Image:
    """An image manifest with its config and layers (all bytes precomputed)."""

    def __init__(self, layers, config, history, manifest_type, config_type, os_="linux",
                 arch="amd64"):
        self.layers = layers
        self.os, self.arch = os_, arch
        config_doc = {
            "created": CREATED,
            "architecture": arch,
            "os": os_,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
            "history": [{"created": CREATED, "created_by": h} for h in history],
        }
        self.config = Blob(canonical_json(config_doc), config_type)
        manifest = {"schemaVersion": 2, "mediaType": manifest_type,
                    "config": self.config.descriptor(),
                    "layers": [l.descriptor() for l in layers]}
        self.media_type = manifest_type
        self.bytes = canonical_json(manifest)
        self.digest = sha256(self.bytes)

    def blobs(self):
        return [self.config] + self.layers

    def descriptor(self):
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.bytes),
                "platform": {"architecture": self.arch, "os": self.os}}

    def summary(self):
        return {
            "manifest_digest": self.digest,
            "manifest_size": len(self.bytes),
            "media_type": self.media_type,
            "config_digest": self.config.digest,
            "config_size": self.config.size,
            "config_media_type": self.config.media_type,
            "platform": {"os": self.os, "architecture": self.arch},
            "layers": [{"digest": l.digest, "diff_id": l.diff_id, "size": l.size,
                        "uncompressed_size": l.uncompressed_size, "media_type": l.media_type}
                       for l in self.layers],
            "index_digest": None,
        }


class Index:
    """An OCI image index or Docker manifest list over already-built Images."""

    def __init__(self, images, media_type):
        self.images = images
        self.media_type = media_type
        doc = {"schemaVersion": 2, "mediaType": media_type,
               "manifests": [i.descriptor() for i in images]}
        self.bytes = canonical_json(doc)
        self.digest = sha256(self.bytes)

    def summary(self):
        return {
            "manifest_digest": self.digest,
            "manifest_size": len(self.bytes),
            "media_type": self.media_type,
            "index_digest": self.digest,
            "config_digest": None,
            "layers": [],
            "manifests": [i.summary() for i in self.images],
        }


# ---------------------------------------------------------------------------------------------
# The test images

def busybox_bytes():
    with open(BUSYBOX, "rb") as f:
        return f.read()


def busybox_layers(busybox, kind, media_type):
    """The three layers of stockade-test/busybox:1.0."""
    base = Layer()
    base.dir("bin").file("bin/busybox", busybox, mode=0o755)
    for applet in BUSYBOX_LINKS:
        base.symlink("bin/" + applet, "busybox")
    base.dir("etc")
    base.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                            "app:x:1000:1000::/home/app:/bin/sh\n")
    base.file("etc/group", "root:x:0:\napp:x:1000:\n")
    base.dir("home").dir("home/app", mode=0o750, uid=1000, gid=1000)
    base.dir("tmp", mode=0o1777)

    data = Layer()
    data.dir("data").dir("data/dir")
    data.file("data/hello.txt", "hello from layer 2\n")
    data.file("data/remove-me.txt", "removed by layer 3\n")
    data.file("data/dir/old.txt", "old, hidden by the opaque marker in layer 3\n")
    data.hardlink("data/hello-link.txt", "data/hello.txt")
    data.symlink("data/rel-link", "hello.txt")
    data.file("data/xattr.txt", "has a user xattr\n", pax={"SCHILY.xattr.user.stockade": "yes"})

    white = Layer()
    white.dir("data").dir("data/dir")
    white.file("data/.wh.remove-me.txt", b"")
    white.file("data/dir/.wh..wh..opq", b"")
    white.file("data/dir/new.txt", "new\n")

    return [make_layer(l, kind, media_type) for l in (base, data, white)]


BUSYBOX_CONFIG = {
    "User": "app",
    "Env": ["PATH=/bin", "GREETING=hello"],
    "Entrypoint": ["/bin/echo"],
    "Cmd": ["hello from stockade"],
    "WorkingDir": "/data",
    "Labels": {"org.stockade.test": "busybox"},
    "StopSignal": "SIGTERM",
}
BUSYBOX_HISTORY = ["stockade testimages: busybox, /etc, /home/app, /tmp",
                   "stockade testimages: /data files, hard link, symlink, xattr",
                   "stockade testimages: whiteout and opaque directory"]


def platform_image(os_, arch):
    layer = Layer().file("platform.txt", "%s/%s\n" % (os_, arch))
    return Image([make_layer(layer, "gzip", OCI_LAYER_GZIP)], {"Env": ["PATH=/bin"]},
                 ["stockade testimages: /platform.txt"], OCI_MANIFEST, OCI_CONFIG, os_, arch)


# Where the hostile images' links point on the node; the tests check that nothing appears there.
ESCAPE_DIR = "/tmp/stockade-escape"


def hostile_images(bb):
    """Images whose files try to reach the node: every link below points out of the rootfs."""
    def base(etc=True):
        layer = Layer().dir("bin").file("bin/busybox", bb, mode=0o755)
        for applet in BUSYBOX_LINKS:
            layer.symlink("bin/" + applet, "busybox")
        if etc:
            layer.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
            layer.file("etc/group", "root:x:0:\n")
        return layer

    def image(layers, config, note):
        return Image([make_layer(l, "gzip", OCI_LAYER_GZIP) for l in layers],
                     dict({"Env": ["PATH=/bin"]}, **config), ["stockade testimages: " + note],
                     OCI_MANIFEST, OCI_CONFIG)

    links = (Layer()
             .symlink("etc/hostname", ESCAPE_DIR + "/hostname")
             .symlink("etc/hosts", "../../../../../.." + ESCAPE_DIR + "/hosts")
             .symlink("etc/resolv.conf", ESCAPE_DIR + "/resolv.conf")
             .symlink("proc", ESCAPE_DIR + "/proc")
             .symlink("dev", "../../.." + ESCAPE_DIR + "/dev")
             .symlink("abs-link", ESCAPE_DIR + "/abs")
             .symlink("rel-link", "../../../.." + ESCAPE_DIR + "/rel")
             .symlink("up", "..")
             .symlink("loop1", "loop2").symlink("loop2", "loop1")
             .symlink("dangling", ESCAPE_DIR + "/missing/deeper")
             .symlink("wd", ESCAPE_DIR + "/wd"))
    fifos = Layer().fifo("etc/passwd").fifo("etc/group")
    accounts = (Layer().symlink("etc/passwd", ESCAPE_DIR + "-accounts/passwd")
                .symlink("etc/group", "../../.." + ESCAPE_DIR + "-accounts/group"))
    hosts_fifo = Layer().fifo("etc/hosts")
    scratch = Layer().dir("bin").file("bin/busybox", bb, mode=0o755)
    for applet in ("sh", "cat", "ls", "id", "pwd"):
        scratch.symlink("bin/" + applet, "busybox")
    return [
        ("links", image([base(), links], {"WorkingDir": "/wd"},
                        "symlinks out of the rootfs at every path the runtime uses")),
        ("fifo-accounts", image([base(), fifos], {}, "/etc/passwd and /etc/group are FIFOs")),
        ("accounts-links", image([base(), accounts], {},
                                 "/etc/passwd and /etc/group link to the node's")),
        ("fifo-hosts", image([base(), hosts_fifo], {}, "/etc/hosts is a FIFO")),
        ("scratch", image([scratch], {}, "FROM scratch: no /etc, /proc, /sys or /dev")),
        ("bad-stopsignal", image([base()], {"StopSignal": "99999999999999999999"},
                                 "a StopSignal that is no signal")),
    ]


def build_all():
    """Returns [(repository, tag, Image|Index, [child Images to push by digest first])]."""
    bb = busybox_bytes()

    oci = Image(busybox_layers(bb, "gzip", OCI_LAYER_GZIP), BUSYBOX_CONFIG, BUSYBOX_HISTORY,
                OCI_MANIFEST, OCI_CONFIG)
    multi = Index([oci, platform_image("linux", "arm64"), platform_image("freebsd", "amd64")],
                  OCI_INDEX)
    docker = Image(busybox_layers(bb, "gzip", DOCKER_LAYER_GZIP), BUSYBOX_CONFIG,
                   BUSYBOX_HISTORY, DOCKER_MANIFEST, DOCKER_CONFIG)
    docker_list = Index([docker], DOCKER_LIST)

    zlayer = (Layer().dir("bin").file("bin/busybox", bb, mode=0o755).symlink("bin/sh", "busybox")
              .file("zstd.txt", "from a zstd layer\n"))
    zstd = Image([make_layer(zlayer, "zstd", OCI_LAYER_ZSTD)],
                 {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh", "-c", "echo zstd"]},
                 ["stockade testimages: busybox + /zstd.txt (zstd)"], OCI_MANIFEST, OCI_CONFIG)

    plain = Image([make_layer(Layer().file("plain.txt", "from an uncompressed layer\n"), "none",
                              OCI_LAYER_TAR)],
                  {"Env": ["PATH=/bin"]}, ["stockade testimages: /plain.txt (uncompressed)"],
                  OCI_MANIFEST, OCI_CONFIG)

    player = (Layer().dir("bin").file("bin/busybox", bb, mode=0o755)
              .symlink("bin/sleep", "busybox"))
    pause = Image([make_layer(player, "gzip", OCI_LAYER_GZIP)],
                  {"Env": ["PATH=/bin"], "Entrypoint": ["/bin/sleep", "infinity"]},
                  ["stockade testimages: pause (busybox sleep infinity)"],
                  OCI_MANIFEST, OCI_CONFIG)

    # Entry names as umoci writes them ("/", "/bin/busybox") and as "./"-prefixing tools do.
    ulayer = (Layer("umoci").dir("bin").file("bin/busybox", bb, mode=0o755)
              .symlink("bin/sh", "busybox").symlink("bin/cat", "busybox")
              .file("etc/umoci.txt", "from a umoci-style layer\n")
              .hardlink("etc/umoci-link.txt", "etc/umoci.txt"))
    dlayer = Layer("dot").file("etc/dot.txt", "from a ./-prefixed layer\n")
    umoci = Image([make_layer(ulayer, "gzip", OCI_LAYER_GZIP),
                   make_layer(dlayer, "gzip", OCI_LAYER_GZIP)],
                  {"Env": ["PATH=/bin"],
                   "Cmd": ["/bin/sh", "-c", "cat /etc/umoci.txt /etc/umoci-link.txt /etc/dot.txt"]},
                  ["stockade testimages: busybox, absolute names (umoci)",
                   "stockade testimages: ./ names"], OCI_MANIFEST, OCI_CONFIG)

    hostile = hostile_images(bb)

    return [
        ("stockade-test/busybox", "1.0", oci, []),
        ("stockade-test/busybox", "latest", oci, []),
        ("library/busybox", "latest", oci, []),
        ("stockade-test/multi", "1.0", multi, multi.images),
        ("stockade-test/docker", "1.0", docker, []),
        ("stockade-test/docker-list", "1.0", docker_list, docker_list.images),
        ("stockade-test/zstd", "1.0", zstd, []),
        ("stockade-test/plain", "1.0", plain, []),
        ("pause", "3.9", pause, []),
        ("stockade-test/umoci", "1.0", umoci, []),
    ] + [("stockade-test/hostile", tag, image, []) for tag, image in hostile]


# ---------------------------------------------------------------------------------------------
# Registry client (plain HTTP, no proxies: http.client never consults *_proxy variables)

class RegistryError(Exception):
    pass


class Registry:
    def __init__(self, hostport, user=None, password=None):
        hostport = hostport.split("://", 1)[-1].rstrip("/")
        self.hostport = hostport
        self.headers = {"User-Agent": "stockade-testimages"}
        if user is not None:
            token = base64.b64encode(("%s:%s" % (user, password or "")).encode()).decode()
            self.headers["Authorization"] = "Basic " + token
        self.conn = None

    def request(self, method, path, body=None, headers=None, ok=(200,)):
        """Sends one request, retrying once on a dropped keep-alive connection."""
        hdrs = dict(self.headers)
        hdrs.update(headers or {})
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.hostport, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if resp.status not in ok:
            raise RegistryError("%s %s -> %d %s: %s" % (method, path, resp.status, resp.reason,
                                                        data[:500].decode(errors="replace")))
        return resp, data

    def ping(self):
        self.request("GET", "/v2/")

    def has_blob(self, repo, digest):
        resp, _ = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest), ok=(200, 404))
        return resp.status == 200

    def push_blob(self, repo, blob):
        """Monolithic upload; returns True when the blob was actually uploaded."""
        if self.has_blob(repo, blob.digest):
            return False
        resp, _ = self.request("POST", "/v2/%s/blobs/uploads/" % repo, body=b"", ok=(202,))
        loc = urllib.parse.urlsplit(resp.getheader("Location"))
        # The Location may be absolute or relative and already carries a query (_state=...).
        query = (loc.query + "&" if loc.query else "") + "digest=" + urllib.parse.quote(blob.digest)
        path = (loc.path or "/") + "?" + query
        resp, _ = self.request("PUT", path, body=blob.data,
                               headers={"Content-Type": "application/octet-stream"}, ok=(201,))
        got = resp.getheader("Docker-Content-Digest")
        if got and got != blob.digest:
            raise RegistryError("blob %s stored as %s" % (blob.digest, got))
        return True

    def put_manifest(self, repo, ref, data, media_type):
        resp, _ = self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), body=data,
                               headers={"Content-Type": media_type}, ok=(201,))
        return resp.getheader("Docker-Content-Digest")

    def get_manifest(self, repo, ref, accept):
        resp, data = self.request("GET", "/v2/%s/manifests/%s" % (repo, ref),
                                  headers={"Accept": accept})
        return resp, data

    def get_blob(self, repo, digest):
        return self.request("GET", "/v2/%s/blobs/%s" % (repo, digest))[1]


def push_image(reg, repo, ref, image, stats):
    for blob in image.blobs():
        if reg.push_blob(repo, blob):
            stats["uploaded"] += 1
            stats["bytes"] += blob.size
        else:
            stats["skipped"] += 1
    got = reg.put_manifest(repo, ref, image.bytes, image.media_type)
    if got and got != image.digest:
        raise RegistryError("%s:%s manifest digest %s, expected %s" % (repo, ref, got,
                                                                        image.digest))


def push_all(reg, plan):
    stats = {"uploaded": 0, "skipped": 0, "bytes": 0}
    images = []
    for repo, tag, obj, children in plan:
        # Children of an index must exist in the same repository before the index is put
        # (distribution verifies every referenced manifest), so they go up by digest first.
        for child in children:
            push_image(reg, repo, child.digest, child, stats)
        if isinstance(obj, Index):
            got = reg.put_manifest(repo, tag, obj.bytes, obj.media_type)
            if got and got != obj.digest:
                raise RegistryError("%s:%s index digest %s, expected %s" % (repo, tag, got,
                                                                             obj.digest))
        else:
            push_image(reg, repo, tag, obj, stats)
        entry = {"ref": "%s:%s" % (repo, tag), "repository": repo, "tag": tag}
        entry.update(obj.summary())
        images.append(entry)
    return images, stats


# ---------------------------------------------------------------------------------------------
# --check: read everything back and verify it

def check_manifest(reg, repo, ref, digest, media_type):
    resp, data = reg.get_manifest(repo, ref, media_type)
    problems = []
    if sha256(data) != digest:
        problems.append("body sha256 %s" % sha256(data))
    if resp.getheader("Docker-Content-Digest") != digest:
        problems.append("Docker-Content-Digest %s" % resp.getheader("Docker-Content-Digest"))
    ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip()
    if ctype != media_type:
        problems.append("Content-Type %s" % ctype)
    if problems:
        raise RegistryError("%s@%s (GET %s): expected %s %s, got %s" % (
            repo, digest, ref, media_type, digest, "; ".join(problems)))
    return data


def check_image_summary(reg, repo, s, seen_blobs):
    check_manifest(reg, repo, s["manifest_digest"], s["manifest_digest"], s["media_type"])
    blobs = [(s["config_digest"], None, None)] + [(l["digest"], l["diff_id"], l["media_type"])
                                                  for l in s["layers"]]
    for digest, diff_id, media_type in blobs:
        if (repo, digest) in seen_blobs:
            continue
        data = reg.get_blob(repo, digest)
        if sha256(data) != digest:
            raise RegistryError("%s blob %s has sha256 %s" % (repo, digest, sha256(data)))
        if diff_id is not None and sha256(decompress(data, media_type)) != diff_id:
            raise RegistryError("%s layer %s: diff_id mismatch" % (repo, digest))
        seen_blobs.add((repo, digest))


def check_all(reg, images):
    seen_blobs = set()
    for img in images:
        repo, tag = img["repository"], img["tag"]
        # By tag with exactly the pushed media type, then by digest with a broad Accept.
        data = check_manifest(reg, repo, tag, img["manifest_digest"], img["media_type"])
        resp, data2 = reg.get_manifest(repo, img["manifest_digest"], ACCEPT_ALL)
        if data2 != data:
            raise RegistryError("%s: GET by digest returned different bytes" % img["ref"])
        if img["media_type"] in INDEX_TYPES:
            listed = [m["digest"] for m in json.loads(data)["manifests"]]
            if listed != [m["manifest_digest"] for m in img["manifests"]]:
                raise RegistryError("%s: index children differ" % img["ref"])
            for child in img["manifests"]:
                check_image_summary(reg, repo, child, seen_blobs)
        else:
            check_image_summary(reg, repo, img, seen_blobs)
    return len(images)


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--registry", required=True, help="HOST:PORT of a plain-HTTP registry")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--out", help="also write the JSON summary to this file")
    ap.add_argument("--check", action="store_true",
                    help="read every pushed manifest and blob back and verify digests")
    args = ap.parse_args()
    if (args.user is None) != (args.password is None):
        ap.error("--user and --password go together")

    reg = Registry(args.registry, args.user, args.password)
    try:
        reg.ping()
        images, stats = push_all(reg, build_all())
        result = {"registry": reg.hostport, "images": images}
        text = json.dumps(result, indent=2) + "\n"
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
        sys.stdout.write(text)
        sys.stdout.flush()
        print("pushed %d refs: %d blobs uploaded (%d bytes), %d already present"
              % (len(images), stats["uploaded"], stats["bytes"], stats["skipped"]),
              file=sys.stderr)
        if args.check:
            print("ok %d images" % check_all(reg, images), file=sys.stderr)
    except (RegistryError, OSError, subprocess.CalledProcessError) as e:
        print("testimages: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
