"""PyWPS 4 serving the same hello-world process as the gateway, for the benchmark.

As a WSGI app under gunicorn (how PyWPS is deployed):
  PYWPS_BENCH_PORT=P PYWPS_BENCH_DIR=D gunicorn -w 2 -b 127.0.0.1:P --chdir bench pywps_server:application
"""
import os

from pywps import LiteralInput, LiteralOutput, Process, Service
port, workdir = int(os.environ["PYWPS_BENCH_PORT"]), os.environ["PYWPS_BENCH_DIR"]


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


config = os.path.join(workdir, "pywps.cfg")
with open(config, "w") as f:
    f.write(
        f"""[server]
url = http://127.0.0.1:{port}/wps
outputurl = http://127.0.0.1:{port}/outputs
outputpath = {workdir}/outputs
workdir = {workdir}
parallelprocesses = 2
maxprocesses = 30
[logging]
level = ERROR
database = sqlite:///{workdir}/pywps.sqlite
"""
    )
os.makedirs(os.path.join(workdir, "outputs"), exist_ok=True)
application = Service([HelloWorld()], [config])
