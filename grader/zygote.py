"""A fork server for a grading worker: nbgrader imported once, one forked child per submission.

    python -m grader.zygote      (started by grader.parallel on each Dask worker)

A Dask worker runs tasks in threads, and forking a threaded process is not
safe; so each worker starts this single-threaded process once. It imports
nbgrader (about 2.5 s, paid once per worker, not per submission) and then
answers one request per line on stdin with one reply per line on stdout:

    {"op": "prepare", "root": R}                      -> {"op": "prepared", "package": P}
    {"op": "run", "root": R, "args": [...], "cap": S} -> {"op": "ran", "status": N | null, "log": "..."}

`prepare` does, once per course root, the start-up every child would repeat:
the course configuration, the font cache, the kernel spec, and the check that
a confined kernel imports this worker's own `utils`. `run` is
grader.autograde_class.run_forked: `nbgrader ARGS` in a child forked from
here, in its own session, killed with its process group after `cap` seconds.
When the Dask worker dies or shuts down, the zygote gets SIGTERM (its
parent-death signal) and exits cleanly: it kills its running child's process
group and removes the child's temporary folders. A child whose zygote is gone
gets SIGKILL.
"""

import ctypes
import json
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(sig=signal.SIGKILL):
    """Ask Linux to send `sig` to this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):  # not Linux: the stdin EOF still ends the zygote
        pass


def main():
    from grader import autograde_class, sandbox, scratch
    from grader.course import load_config

    # the worker gone: SIGTERM, a clean exit that kills the running child and removes its folders
    scratch.stop_on_sigterm()
    die_with_parent(signal.SIGTERM)

    out = sys.stdout
    sys.stdout = sys.stderr  # only replies go to stdout
    prepared = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "prepare":
            root = request["root"]
            try:
                if root not in prepared:
                    config = load_config(root)
                    autograde_class.preload()
                    package = None
                    if config.SandboxKernelManager.get("confine", True):
                        sandbox.preflight()
                        package = sandbox.check_course_package(config)
                    prepared[root] = package
                reply = {"op": "prepared", "package": prepared[root]}
            except sandbox.SandboxUnavailable as error:
                reply = {"op": "error", "error": str(error)}
        elif request["op"] == "run":
            status, log = autograde_class.run_forked(request["args"], request["root"], request["cap"],
                                                     on_fork=die_with_parent)
            reply = {"op": "ran", "status": status, "log": log}
        else:
            reply = {"op": "error", "error": f"unknown op {request['op']!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        os._exit(130)
