"""PyWPS 4 serving the same processes as the gateway (hello-world, sleep, buffer on osgeo.ogr), for
the benchmark, as a WSGI app under gunicorn (how PyWPS is deployed). Limits come from the
environment so that both servers run with the same ones (bench/lib/peers.ts sets them):

  PYWPS_BENCH_PORT=P PYWPS_BENCH_DIR=D PYWPS_PARALLEL=2 PYWPS_MAXPROCESSES=1000 \
  PYWPS_MAXREQUESTSIZE=64mb PYWPS_MAXSINGLEINPUTSIZE=64mb \
  gunicorn -w 2 -b 127.0.0.1:P --chdir bench pywps_server:application

Status documents and stored outputs (outputurl) are served by this app from outputpath.
"""
import os
import time

from osgeo import ogr
from pywps import (FORMATS, ComplexInput, ComplexOutput, LiteralInput, LiteralOutput, Process,
                   Service)
from pywps.validator.mode import MODE

ogr.UseExceptions()
env = os.environ
port, workdir = int(env["PYWPS_BENCH_PORT"]), env["PYWPS_BENCH_DIR"]
outputs = os.path.join(workdir, "outputs")


class HelloWorld(Process):
    def __init__(self):
        super().__init__(
            self._handler,
            identifier="hello-world",
            title="Hello World",
            abstract="Greets the given name.",
            version="1.0.0",
            inputs=[LiteralInput("name", "Name", data_type="string")],
            outputs=[LiteralOutput("echo", "Greeting", data_type="string")],
            store_supported=True,
            status_supported=True,
        )

    def _handler(self, request, response):
        response.outputs["echo"].data = "Hello {}!".format(request.inputs["name"][0].data)
        return response


class Sleep(Process):
    def __init__(self):
        super().__init__(
            self._handler,
            identifier="sleep",
            title="Sleep",
            abstract="Waits the given number of seconds, reporting progress.",
            version="1.0.0",
            inputs=[LiteralInput("seconds", "Seconds", data_type="float")],
            outputs=[LiteralOutput("slept", "Seconds slept", data_type="float")],
            store_supported=True,
            status_supported=True,
        )

    def _handler(self, request, response):
        seconds = float(request.inputs["seconds"][0].data)
        start = time.time()
        while time.time() - start < seconds:
            time.sleep(min(0.25, max(0.0, seconds - (time.time() - start))))
            response.update_status("sleeping", int(100 * min(1.0, (time.time() - start) / seconds)))
        response.outputs["slept"].data = seconds
        return response


class Buffer(Process):
    def __init__(self):
        super().__init__(
            self._handler,
            identifier="buffer",
            title="Buffer",
            abstract="Buffers every feature by a distance (osgeo.ogr), keeping its attributes.",
            version="1.0.0",
            inputs=[
                ComplexInput("data", "Vector data", supported_formats=[FORMATS.GEOJSON], mode=MODE.NONE),
                LiteralInput("distance", "Distance", data_type="float"),
                LiteralInput("quadsegs", "Segments per quarter circle", data_type="integer",
                             min_occurs=0, default=30),
            ],
            outputs=[ComplexOutput("buffered", "Buffered features", supported_formats=[FORMATS.GEOJSON])],
            store_supported=True,
            status_supported=True,
        )

    def _handler(self, request, response):
        distance = float(request.inputs["distance"][0].data)
        quadsegs = int(request.inputs["quadsegs"][0].data) if "quadsegs" in request.inputs else 30
        source = ogr.Open(request.inputs["data"][0].file)
        layer = source.GetLayer(0)
        target = os.path.join(self.workdir, "buffered.geojson")
        out_ds = ogr.GetDriverByName("GeoJSON").CreateDataSource(target)
        out = out_ds.CreateLayer("buffered", layer.GetSpatialRef(), ogr.wkbMultiPolygon)
        definition = layer.GetLayerDefn()
        for i in range(definition.GetFieldCount()):
            out.CreateField(definition.GetFieldDefn(i))
        for feature in layer:
            geometry = feature.GetGeometryRef()
            if geometry is None:
                continue
            buffered = ogr.Feature(out.GetLayerDefn())
            buffered.SetFrom(feature)
            buffered.SetGeometry(geometry.Buffer(distance, quadsegs))
            out.CreateFeature(buffered)
        out_ds = None
        response.outputs["buffered"].file = target
        return response


config = os.path.join(workdir, "pywps.cfg")
with open(config, "w") as f:
    f.write(
        f"""[server]
url = http://127.0.0.1:{port}/wps
outputurl = http://127.0.0.1:{port}/outputs
outputpath = {outputs}
workdir = {workdir}
parallelprocesses = {env.get("PYWPS_PARALLEL", "2")}
maxprocesses = {env.get("PYWPS_MAXPROCESSES", "30")}
maxrequestsize = {env.get("PYWPS_MAXREQUESTSIZE", "3mb")}
maxsingleinputsize = {env.get("PYWPS_MAXSINGLEINPUTSIZE", "1mb")}
[logging]
level = ERROR
database = sqlite:///{workdir}/pywps.sqlite
"""
    )
os.makedirs(outputs, exist_ok=True)
service = Service([HelloWorld(), Sleep(), Buffer()], [config])


def application(environ, start_response):
    """The WPS at /wps; status documents and outputs at /outputs/ (files in outputpath)."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/outputs/"):
        name = os.path.normpath(path[len("/outputs/"):])
        file = os.path.join(outputs, name)
        if name.startswith("..") or not os.path.isfile(file):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        with open(file, "rb") as f:
            data = f.read()
        start_response("200 OK", [("Content-Type", "text/xml" if name.endswith(".xml") else
                                   "application/octet-stream"), ("Content-Length", str(len(data)))])
        return [data]
    return service(environ, start_response)
