"""Drives a running gateway's OGC API - Processes with OWSLib; prints JSON results.

Run with Debian's interpreter: /usr/bin/python3 owslib_oaproc_client.py http://host:port/
"""
import json
import sys

from owslib.ogcapi.processes import Processes

url = sys.argv[1]
api = Processes(url)
result = {
    "landing": [link["rel"] for link in api.links],
    "conformance": api.conformance()["conformsTo"],
    "processes": [[p["id"], p["version"], p["title"]] for p in api.processes()["processes"]],
}
echo = api.process("echo")
result["echo"] = {
    "id": echo["id"],
    "jobControlOptions": echo["jobControlOptions"],
    "inputs": {k: [v["minOccurs"], v["maxOccurs"]] for k, v in echo["inputs"].items()},
    "outputs": sorted(echo["outputs"]),
}
try:
    api.process("no-such-process")
    result["missing"] = "no error"
except Exception as e:  # OWSLib raises on HTTP errors
    result["missing"] = type(e).__name__ + ": " + str(e)
print(json.dumps(result))
