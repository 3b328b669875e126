// The last steps before a container's command runs, shared by a container's init and by exec
// sessions: signals back to their defaults (the shim blocks SIGCHLD and ignores SIGPIPE, the
// daemon blocks SIGTERM/SIGINT: a command inherits neither), and the command looked up on the
// container's own PATH (execvpe would search the caller's). Allocation-free: for use between
// fork and exec.
#pragma once

namespace stockade {

// An empty signal mask and every disposition SIG_DFL, as crun's unblock_signals.
void ResetSignalsForExec();

// Every descriptor above stderr closes at exec: whatever a parent (the shim, the daemon) let
// slip through never reaches the container.
void CloseInheritedDescriptorsOnExec();

// execve of `file`, or, when it has no "/", of each PATH entry of `envp` in turn (the default
// PATH when `envp` has none). Returns only on failure, with errno of the most telling attempt.
void ExecWithContainerPath(const char* file, char* const argv[], char* const envp[]);

}  // namespace stockade
