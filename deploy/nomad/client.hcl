# A Nomad client that runs tasks in stockade jails. Install the plugin, its shim and its puller:
#   install -D -m 0755 build/release/bin/nomad-driver-stockade /opt/nomad/plugins/nomad-driver-stockade
#   install -D -m 0755 build/release/bin/stockade-shim /usr/local/libexec/stockade/stockade-shim
#   install -D -m 0755 build/release/bin/stockade-puller /usr/local/libexec/stockade/stockade-puller
# (the helpers outside plugin_dir: Nomad starts every executable there as a plugin; the driver
# finds stockade-puller next to the shim).
# Nomad's client must run as root for the driver to make jails.

data_dir   = "/opt/nomad/data"
plugin_dir = "/opt/nomad/plugins"

client {
  enabled = true
}

plugin "nomad-driver-stockade" {
  config {
    # The driver's own state (records, images) and run dirs; never stockaded's.
    state_dir = "/var/lib/stockade-nomad"
    run_dir   = "/run/stockade-nomad"
    shim_path = "/usr/local/libexec/stockade/stockade-shim"

    # Optional: a stockaded-style config.yaml for registries (mirrors, TLS, credentials),
    # CNI directories and the cgroup driver.
    # config_file = "/etc/stockade/nomad.yaml"

    # Tasks whose group has no network block get this CNI network (a jail network of their
    # own, ports from the group's network block mapped to it); "" or "host": the node's.
    # network = "stockade-bridge"

    # `privileged = true` in a job is refused unless this is set.
    allow_privileged = false
  }
}
