// The lifecycle state machines of pods and containers. Transitional states (CREATING,
// STOPPING, REMOVING) are persisted before the side effects they announce (intent first), so a
// restart knows what to finish or roll back. Illegal transitions are FailedPrecondition.
//
//  Pod:
//      CREATING ──ok──▶ READY ──stop──▶ STOPPING ──▶ NOT_READY ──remove──▶ REMOVING ──▶ (gone)
//         │                │                             ▲   │
//         │                └──shim or jail lost──────────┘   └──stop (again)──▶ STOPPING
//         └──failed, cleanup incomplete──▶ NOT_READY
//
//  Container:
//      CREATING ──▶ CREATED ──start──▶ RUNNING ──stop──▶ STOPPING ──▶ EXITED ──▶ REMOVING ──▶
//      (gone)
//                      │                  │  └──process exited──────────▲    ▲
//                      │                  └──shim lost──▶ UNKNOWN ───────┘    │
//                      └──start failed──▶ EXITED         └──remove──▶ REMOVING
//                      └──remove──▶ REMOVING
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace stockade {

enum class PodState { kCreating, kReady, kStopping, kNotReady, kRemoving };
enum class ContainerState {
  kCreating,
  kCreated,
  kRunning,
  kStopping,
  kExited,
  kUnknown,
  kRemoving
};

absl::string_view PodStateName(PodState state);
absl::string_view ContainerStateName(ContainerState state);

// OK when `from` -> `to` is an edge of the diagram above.
absl::Status CheckPodTransition(PodState from, PodState to);
absl::Status CheckContainerTransition(ContainerState from, ContainerState to);

}  // namespace stockade
