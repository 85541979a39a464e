"""Drives a running gateway with OWSLib (the library behind the QGIS WPS plugins); prints JSON results.

Run with Debian's interpreter: /usr/bin/python3 owslib_client.py http://host:port/wps WORKDIR
"""
import json
import os
import sys

from owslib.util import ServiceException
from owslib.wps import ASYNC, SYNC, BoundingBoxDataInput, ComplexDataInput, WebProcessingService

url, workdir = sys.argv[1], sys.argv[2]
result = {}

wps = WebProcessingService(url, version="1.0.0", skip_caps=False)
result["capabilities"] = {
    "title": wps.identification.title,
    "abstract": wps.identification.abstract,
    "provider": wps.provider.name,
    "processes": [[p.identifier, p.title, p.processVersion] for p in wps.processes],
    "operations": sorted(op.name for op in wps.operations),
    "languages": wps.languages.supported if wps.languages else None,
}

p = wps.describeprocess("echo")
result["describe"] = {
    "statusSupported": p.statusSupported,
    "storeSupported": p.storeSupported,
    "inputs": [[i.identifier, i.dataType, i.minOccurs, i.maxOccurs] for i in p.dataInputs],
    "outputs": [[o.identifier, o.dataType] for o in p.processOutputs],
    "complexFormats": [f.mimeType for f in next(i for i in p.dataInputs if i.identifier == "complexInput").supportedValues],
}
sleep = wps.describeprocess("sleep")
result["describe"]["sleepAllowed"] = [str(v) for v in sleep.dataInputs[0].allowedValues]

# Synchronous execution, no output requested: the server's default response form.
execution = wps.execute("hello-world", [("name", "OWSLib"), ("message", "Bonjour")], output=None, mode=SYNC)
result["sync"] = {
    "status": execution.status,
    "succeeded": execution.isSucceded(),
    "outputs": {o.identifier: o.data for o in execution.processOutputs},
}

# Non-ASCII text and XML-special characters: OWSLib writes them as character references.
execution = wps.execute("hello-world", [("name", "Jörg; a=b & c <☺>")], output=None, mode=SYNC)
result["unicode"] = {o.identifier: o.data for o in execution.processOutputs}

# Asynchronous execution polled through statusLocation, as QGIS's OWSLib plugin does.
execution = wps.execute("sleep", [("seconds", "1.5")], output=[("slept", False)], mode=ASYNC)
statuses = [execution.status]
percents = []
while not execution.isComplete():
    execution.checkStatus(sleepSecs=0.3)
    statuses.append(execution.status)
    percents.append(execution.percentCompleted)
result["async"] = {
    "statusLocation": execution.statusLocation,
    "statuses": statuses,
    "percents": percents,
    "succeeded": execution.isSucceded(),
    "outputs": {o.identifier: o.data for o in execution.processOutputs},
}

# Outputs by reference, fetched with getOutput(); bounding boxes in and out.
document = ComplexDataInput('{"type":"Point","coordinates":[1,2]}', mimeType="application/json")
bbox = BoundingBoxDataInput([5, 45, 6, 46], crs="EPSG:4326", dimensions=2)
execution = wps.execute(
    "echo",
    [("stringInput", "ref"), ("complexInput", document), ("bboxInput", bbox)],
    output=[("complexOutput", True), ("bboxOutput", False)],
    mode=ASYNC,
)
while not execution.isComplete():
    execution.checkStatus(sleepSecs=0.3)
outputs = {o.identifier: o for o in execution.processOutputs}
target = os.path.join(workdir, "complexOutput.json")
execution.getOutput(target, identifier="complexOutput")
with open(target) as f:
    downloaded = f.read()
box = outputs["bboxOutput"].data[0]
result["reference"] = {
    "succeeded": execution.isSucceded(),
    "href": outputs["complexOutput"].reference,
    "mimeType": outputs["complexOutput"].mimeType,
    "downloaded": downloaded,
    "bbox": [box.minx, box.miny, box.maxx, box.maxy, box.crs.id if box.crs else None],
}

# A failure after acceptance arrives as execution errors; a bad request as a ServiceException.
execution = wps.execute("fail", [("how", "ows")], output=None, mode=SYNC)
result["failed"] = {
    "status": execution.status,
    "errors": [[e.code, e.locator, e.text] for e in execution.errors],
}
try:
    wps.execute("sleep", [("seconds", "99")], output=None, mode=SYNC)
    result["invalid"] = "no exception"
except ServiceException as e:
    result["invalid"] = str(e)

print(json.dumps(result))
