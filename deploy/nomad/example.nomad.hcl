# nomad job run deploy/nomad/example.nomad.hcl
job "web" {
  datacenters = ["dc1"]

  group "web" {
    network {
      # "bridge": Nomad makes the group's network namespace; the jail joins it.
      mode = "bridge"
      port "http" {
        to = 8080
      }
    }

    volume "data" {
      type      = "host"
      source    = "web-data"
      read_only = true
    }

    task "httpd" {
      driver = "stockade"

      config {
        image      = "docker.io/library/busybox:1.36"
        entrypoint = ["/bin/httpd"]
        args       = ["-f", "-p", "8080", "-h", "/local"]
        ports      = ["http"]
        # Also: command, work_dir, hostname, mounts = [{ source = "/srv", target = "/srv",
        # readonly = "true" }], readonly_rootfs, sysctl = { "net.core.somaxconn" = "1024" },
        # cap_add, cap_drop, auth { username = "u" password = "p" }, force_pull,
        # network_mode = "host" | "bridge", privileged (see allow_privileged).
      }

      volume_mount {
        volume      = "data"
        destination = "/srv/data"
      }

      template {
        data        = "hello from {{ env \"NOMAD_ALLOC_ID\" }}\n"
        destination = "local/index.html"
      }

      resources {
        cpu        = 200 # MHz: the jail's CPU weight
        memory     = 64  # MiB: reserved
        memory_max = 128 # MiB: the hard limit (memory when unset)
      }
    }
  }
}
