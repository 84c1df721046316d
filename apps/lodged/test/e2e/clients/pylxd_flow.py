"""
Drives lodged with Debian's python3-pylxd (2.2), as a pylxd user would: the daemon is found
through LXD_DIR. Prints one JSON object with what it saw; the jest test asserts on it. Run with
/usr/bin/python3 (Debian's packages import only there).

    LXD_DIR=<dir> /usr/bin/python3 pylxd_flow.py <image-alias> <container-name>
"""
import json
import sys

import pylxd

alias, name = sys.argv[1], sys.argv[2]
client = pylxd.Client()
seen = {"trusted": client.trusted, "api_extensions": len(client.host_info["api_extensions"])}

image = client.images.get_by_alias(alias)
seen["image_fingerprint"] = image.fingerprint
seen["images"] = [i.fingerprint for i in client.images.all()]

container = client.containers.create(
    {"name": name, "source": {"type": "image", "alias": alias}, "config": {"environment.FROM_PYLXD": "yes"}},
    wait=True,
)
seen["after_create"] = client.containers.get(name).status
container.start(wait=True)
container.sync()
seen["after_start"] = container.status
seen["listed"] = sorted(c.name for c in client.containers.all())

result = container.execute(["/bin/sh", "-c", "echo out-$FROM_PYLXD; echo err >&2; exit 7"])
seen["exec"] = {"exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}

state = container.state()
seen["state"] = {"status": state.status, "pids": state.processes}

container.stop(wait=True)
container.sync()
seen["after_stop"] = container.status
container.delete(wait=True)
seen["exists_after_delete"] = client.containers.exists(name)
print(json.dumps(seen))
