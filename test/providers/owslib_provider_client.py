"""OWSLib against the gateway's WPS, for processes of a PyWPS provider, and against PyWPS itself.

  /usr/bin/python3 owslib_provider_client.py GATEWAY_WPS_URL PYWPS_URL
Prints one JSON line: for each server, the capabilities ids, a description, sync and async runs.
"""
import json
import sys
import time

from owslib.wps import ASYNC, SYNC, BoundingBoxDataInput, WebProcessingService


def run(url, prefix):
    wps = WebProcessingService(url, version="1.0.0")
    out = {"ids": [p.identifier for p in wps.processes]}
    p = wps.describeprocess(prefix + "say_hello")
    out["describe"] = {
        "statusSupported": p.statusSupported,
        "inputs": [[i.identifier, i.dataType, i.minOccurs, [str(v) for v in i.allowedValues]] for i in p.dataInputs],
    }
    e = wps.execute(prefix + "say_hello", [("name", "Owl"), ("times", "2")], output=[("message", False)], mode=SYNC)
    out["sync"] = {"status": e.status, "message": [o.data for o in e.processOutputs if o.identifier == "message"][0]}
    e = wps.execute(prefix + "slow", [("steps", "3"), ("delay", "0.3")], output=[("done", False)], mode=ASYNC)
    percents = []
    for _ in range(200):
        time.sleep(0.2)
        e.checkStatus(sleepSecs=0)
        percents.append(e.percentCompleted)
        if e.isComplete():
            break
    out["async"] = {
        "status": e.status,
        "done": [o.data for o in e.processOutputs if o.identifier == "done"][0],
        "sawProgress": any(0 < (p or 0) < 100 for p in percents),
    }
    box = BoundingBoxDataInput([1, 2, 3, 5], crs="EPSG:4326", dimensions=2)
    e = wps.execute(prefix + "bbox", [("area", box)], mode=SYNC)
    out["bbox"] = {o.identifier: o.data for o in e.processOutputs}
    e = wps.execute(prefix + "fail", [], mode=SYNC)
    out["fail"] = {"status": e.status, "errors": [(x.code, x.text) for x in e.errors]}
    return out


print(json.dumps({"gateway": run(sys.argv[1], "pywps."), "pywps": run(sys.argv[2], "")}, default=str))
