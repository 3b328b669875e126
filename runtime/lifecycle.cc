#include "runtime/lifecycle.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace stockade {
namespace {

template <typename State, size_t N>
bool HasEdge(const std::pair<State, State> (&edges)[N], State from, State to) {
  for (const auto& [a, b] : edges) {
    if (a == from && b == to) return true;
  }
  return false;
}

constexpr std::pair<PodState, PodState> kPodEdges[] = {
    {PodState::kCreating, PodState::kReady},    {PodState::kCreating, PodState::kNotReady},
    {PodState::kReady, PodState::kStopping},    {PodState::kReady, PodState::kNotReady},
    {PodState::kStopping, PodState::kNotReady}, {PodState::kNotReady, PodState::kStopping},
    {PodState::kNotReady, PodState::kRemoving},
};

constexpr std::pair<ContainerState, ContainerState> kContainerEdges[] = {
    {ContainerState::kCreating, ContainerState::kCreated},
    {ContainerState::kCreated, ContainerState::kRunning},
    {ContainerState::kCreated, ContainerState::kExited},
    {ContainerState::kCreated, ContainerState::kRemoving},
    {ContainerState::kRunning, ContainerState::kStopping},
    {ContainerState::kRunning, ContainerState::kExited},
    {ContainerState::kRunning, ContainerState::kUnknown},
    {ContainerState::kStopping, ContainerState::kExited},
    {ContainerState::kStopping, ContainerState::kUnknown},
    {ContainerState::kUnknown, ContainerState::kExited},
    {ContainerState::kUnknown, ContainerState::kRemoving},
    {ContainerState::kExited, ContainerState::kRemoving},
};

}  // namespace

absl::string_view PodStateName(PodState state) {
  switch (state) {
    case PodState::kCreating:
      return "CREATING";
    case PodState::kReady:
      return "READY";
    case PodState::kStopping:
      return "STOPPING";
    case PodState::kNotReady:
      return "NOT_READY";
    case PodState::kRemoving:
      return "REMOVING";
  }
  return "?";
}

absl::string_view ContainerStateName(ContainerState state) {
  switch (state) {
    case ContainerState::kCreating:
      return "CREATING";
    case ContainerState::kCreated:
      return "CREATED";
    case ContainerState::kRunning:
      return "RUNNING";
    case ContainerState::kStopping:
      return "STOPPING";
    case ContainerState::kExited:
      return "EXITED";
    case ContainerState::kUnknown:
      return "UNKNOWN";
    case ContainerState::kRemoving:
      return "REMOVING";
  }
  return "?";
}

absl::Status CheckPodTransition(PodState from, PodState to) {
  if (HasEdge(kPodEdges, from, to)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("a pod cannot go from ", PodStateName(from), " to ", PodStateName(to)));
}

absl::Status CheckContainerTransition(ContainerState from, ContainerState to) {
  if (HasEdge(kContainerEdges, from, to)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "a container cannot go from ", ContainerStateName(from), " to ", ContainerStateName(to)));
}

}  // namespace stockade
