"""Drives a gateway's WPS 1.0.0 with OWSLib (as QGIS does) for processes of a remote OGC API provider.

Run with Debian's interpreter: /usr/bin/python3 owslib_remote.py http://host:port/wps PREFIX
PREFIX is what the process ids start with ("remote." on the gateway, "" on the remote itself), so
the same requests can be sent to both and the answers compared. Prints one JSON object.
"""
import json
import sys
import time

from owslib.wps import ASYNC, SYNC, BoundingBoxDataInput, ComplexDataInput, WebProcessingService

url, prefix = sys.argv[1], sys.argv[2]
result = {}

wps = WebProcessingService(url, version="1.0.0", skip_caps=False)
result["processes"] = sorted(p.identifier for p in wps.processes if p.identifier.startswith(prefix))

p = wps.describeprocess(prefix + "bbox-transform")
result["describe"] = {
    "statusSupported": p.statusSupported,
    "storeSupported": p.storeSupported,
    "inputs": [[i.identifier, i.dataType, i.minOccurs, i.maxOccurs] for i in p.dataInputs],
    "bboxCrs": [str(c) for c in next(i for i in p.dataInputs if i.identifier == "bbox").supportedValues],
    "targetAllowed": [str(v) for v in next(i for i in p.dataInputs if i.identifier == "target_crs").allowedValues],
    "outputs": [[o.identifier, o.dataType] for o in p.processOutputs],
}


def outputs_of(execution):
    values = {}
    for o in execution.processOutputs:
        if o.dataType == "BoundingBoxData" or (o.data and hasattr(o.data[0], "minx")):
            b = o.data[0]
            values[o.identifier] = [b.minx, b.miny, b.maxx, b.maxy, b.crs.id if b.crs else None]
        else:
            values[o.identifier] = o.data
    return values


execution = wps.execute(prefix + "hello-world", [("name", "Remote")], output=None, mode=SYNC)
result["sync"] = {"status": execution.status, "outputs": outputs_of(execution)}

# Bounding boxes: longitude/latitude in EPSG:4326 (this gateway's short spelling), into Web Mercator;
# and the same box in the URN spelling, latitude first.
boxes = {}
for name, box, crs in [
    ("short", [5, 45, 6, 46], "EPSG:4326"),
    ("urn", [45, 5, 46, 6], "urn:ogc:def:crs:EPSG::4326"),
]:
    execution = wps.execute(
        prefix + "bbox-transform",
        [("bbox", BoundingBoxDataInput(box, crs=crs, dimensions=2)), ("target_crs", "EPSG:3857")],
        output=[("bbox", False)],
        mode=SYNC,
    )
    boxes[name] = {"status": execution.status, "outputs": outputs_of(execution)}
result["bbox"] = boxes

# Complex GeoJSON in and out.
square = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a"},
    "geometry": {"type": "Point", "coordinates": [1, 2]}}]})
execution = wps.execute(
    prefix + "buffer",
    [("data", ComplexDataInput(square, mimeType="application/geo+json")), ("distance", "1"), ("quadsegs", "2")],
    output=[("buffered", False)],
    mode=SYNC,
)
buffered = execution.processOutputs[0].data if execution.processOutputs else None
result["buffer"] = {"status": execution.status, "data": buffered}

# Asynchronous, polled through the status document (storeExecuteResponse=true, status=true).
execution = wps.execute(prefix + "sleep", [("seconds", "1.5")], output=[("slept", False)], mode=ASYNC)
statuses = [execution.status]
percents = []
deadline = time.time() + 60
while not execution.isComplete() and time.time() < deadline:
    execution.checkStatus(sleepSecs=0.2)
    statuses.append(execution.status)
    percents.append(execution.percentCompleted)
result["async"] = {
    "statusLocation": execution.statusLocation,
    "statuses": statuses,
    "percents": percents,
    "outputs": outputs_of(execution),
}

# A failure on the remote.
execution = wps.execute(prefix + "fail", [("how", "ows")], output=None, mode=SYNC)
result["failed"] = {"status": execution.status, "errors": [[e.code, e.locator, e.text] for e in execution.errors]}

print(json.dumps(result))
