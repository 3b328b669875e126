// Conversions between CRI messages and the runtime core's plain types that more than one RPC
// group needs.
#pragma once

#include "runtime/jail_spec.h"
#include "runtime/runtime_core.h"
#include "runtime/v1/api.pb.h"

namespace stockade {

// Only the non-zero fields apply, as containerd does.
ResourceLimits ToLimits(const runtime::v1::LinuxContainerResources& resources);
void FromLimits(const ResourceLimits& limits, runtime::v1::LinuxContainerResources& out);

// A scope's CPU and memory, for container and pod stats.
void FillCpuUsage(int64_t timestamp, const ScopeUsage& usage, std::optional<uint64_t> nano_cores,
                  runtime::v1::CpuUsage& cpu);
void FillMemoryUsage(int64_t timestamp, const ScopeUsage& usage, runtime::v1::MemoryUsage& memory);
// ContainerStats (also inside PodSandboxStats).
void FillContainerStats(const ContainerStatsView& s, runtime::v1::ContainerStats& out);

}  // namespace stockade
