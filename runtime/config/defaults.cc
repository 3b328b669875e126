#include "runtime/config/config.h"

namespace stockade {

HostOs BuildHostOs() {
#if defined(__FreeBSD__)
  return HostOs::kFreeBsd;
#else
  return HostOs::kLinux;
#endif
}

Config DefaultConfig(HostOs os) {
  Config c;
  if (os == HostOs::kFreeBsd) {
    // FreeBSD keeps /var/run and /var/db as the homes of run-time and persistent daemon state.
    c.socket_path = "/var/run/stockade/stockade.sock";
    c.state_dir = "/var/db/stockade";
    c.run_dir = "/var/run/stockade";
  } else {
    c.socket_path = "/run/stockade/stockade.sock";
    c.state_dir = "/var/lib/stockade";
    c.run_dir = "/run/stockade";
  }
  c.images.registry_config_dir =
      os == HostOs::kFreeBsd ? "/usr/local/etc/stockade/certs.d" : "/etc/stockade/certs.d";
  c.cni.conf_dir = "/etc/cni/net.d";
  c.cni.bin_dirs = {"/opt/cni/bin"};
  c.streaming_address = "127.0.0.1:0";
  c.metrics_address = "127.0.0.1:1338";
  return c;
}

std::string DefaultConfigPath(HostOs os) {
  return os == HostOs::kFreeBsd ? "/usr/local/etc/stockade/config.yaml"
                                : "/etc/stockade/config.yaml";
}

}  // namespace stockade
