#!/usr/bin/env python3
"""A full AIDE mesh session from Python, through the client generate.sh makes from proto/.

Creates a project, uploads a folder of images to the FileServer (FileService.PutFile),
registers them, labels some of them, starts training (a train -> inference -> rank
workflow), watches its progress stream and prints the ranked batch of images to
annotate next.

Images are named <class>_<anything>.<ext>; the class part stands in for an annotator's
label. Run clients/python/generate.sh first, then for example:

    AIDE_TOKEN=... python3 clients/python/example.py --address 127.0.0.1:50051 \
        --fileserver 127.0.0.1:50053 --images ./tiles --project py-demo
"""
import argparse
import hashlib
import os
import sys

import grpc

# The generated code lives outside the source tree (see README.md); AIDE_PYTHON_GEN points at it.
sys.path.insert(0, os.environ.get("AIDE_PYTHON_GEN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen")))
from aide.v1 import common_pb2, controller_pb2, controller_pb2_grpc, fileserver_pb2, fileserver_pb2_grpc  # noqa: E402

CHUNK = 1 << 20
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def channel(address, tls_ca):
    if tls_ca is None:
        return grpc.insecure_channel(address)
    with open(tls_ca, "rb") as f:
        return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=f.read()))


def put_file_requests(project, path, data):
    """PutFile's stream: the header, then chunks; the last one carries the SHA-256 of the whole file."""
    yield fileserver_pb2.PutFileRequest(header=fileserver_pb2.PutFileHeader(project=project, path=path, size=len(data)))
    offsets = range(0, len(data), CHUNK) if data else [0]
    for offset in offsets:
        last = offset + CHUNK >= len(data)
        yield fileserver_pb2.PutFileRequest(chunk=common_pb2.BlobChunk(
            offset=offset, total_size=len(data), data=data[offset:offset + CHUNK],
            sha256=hashlib.sha256(data).digest() if last else b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default=os.environ.get("AIDE_ADDRESS", "127.0.0.1:50051"), help="the AIController")
    parser.add_argument("--fileserver", default=os.environ.get("AIDE_FILESERVER", "127.0.0.1:50053"), help="the FileServer (gRPC)")
    parser.add_argument("--token", default=os.environ.get("AIDE_TOKEN", ""), help="API token (default: $AIDE_TOKEN)")
    parser.add_argument("--tls-ca", help="CA certificate; without it the connection is plaintext")
    parser.add_argument("--images", required=True, help="folder of <class>_<n>.jpg images")
    parser.add_argument("--project", default="py-demo")
    args = parser.parse_args()

    auth = [("authorization", f"Bearer {args.token}")]
    controller = controller_pb2_grpc.ControllerServiceStub(channel(args.address, args.tls_ca))
    files = fileserver_pb2_grpc.FileServiceStub(channel(args.fileserver, args.tls_ca))
    project = args.project
    folder = os.path.basename(os.path.normpath(args.images))

    controller.CreateProject(controller_pb2.CreateProjectRequest(
        name=project, display_name="Python example",
        annotation_type=common_pb2.ANNOTATION_TYPE_LABELS, prediction_type=common_pb2.ANNOTATION_TYPE_LABELS,
        settings=common_pb2.ProjectSettings(model_library="examples.colour_histogram", ranker_library="builtin.breaking_ties",
                                            min_annotations_per_image=1)), metadata=auth)
    print(f"created project {project}")

    names = sorted(n for n in os.listdir(args.images) if n.lower().endswith(IMAGE_EXTENSIONS))
    for name in names:
        with open(os.path.join(args.images, name), "rb") as f:
            files.PutFile(put_file_requests(project, f"{folder}/{name}", f.read()), metadata=auth)
    registered = controller.RegisterImages(controller_pb2.RegisterImagesRequest(project=project, prefix=folder), metadata=auth)
    print(f"uploaded {len(names)} images, registered {registered.added}")

    classes = {}
    for cls in sorted({n.split("_")[0] for n in names}):
        classes[cls] = controller.AddLabelClass(controller_pb2.AddLabelClassRequest(project=project, name=cls), metadata=auth).label_class.id
    images = controller.ListImages(controller_pb2.ListImagesRequest(project=project, page_size=1000), metadata=auth).images
    labelled = [img for i, img in enumerate(sorted(images, key=lambda img: img.file_path)) if i % 2 == 0]
    controller.UpsertAnnotations(controller_pb2.UpsertAnnotationsRequest(project=project, annotations=[
        common_pb2.Annotation(image_id=img.id, label_class_id=classes[os.path.basename(img.file_path).split("_")[0]], author="example.py")
        for img in labelled]), metadata=auth)
    print(f"labelled {len(labelled)} images with {len(classes)} classes")

    job = controller.StartWorkflow(controller_pb2.StartWorkflowRequest(project=project), metadata=auth).job
    print(f"started training: workflow {job.id} (train -> inference -> rank)")
    for update in controller.WatchJob(controller_pb2.WatchJobRequest(project=project, id=job.id), metadata=auth):
        e = update.event
        print(f"  [{e.done}/{e.total}] {common_pb2.JobState.Name(e.state)} {e.message}")
    finished = controller.GetJob(controller_pb2.GetJobRequest(project=project, id=job.id), metadata=auth).job
    print(f"workflow {common_pb2.JobState.Name(finished.state)}")
    if finished.state != common_pb2.JOB_STATE_SUCCEEDED:
        sys.exit(f"workflow did not succeed: {finished.error or finished.message}")

    batch = controller.NextBatch(controller_pb2.NextBatchRequest(project=project, limit=5), metadata=auth)
    print("annotate next:")
    for img, priority in zip(batch.images, batch.priorities):
        print(f"  {priority:.3f}  {img.file_path}")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as err:
        sys.exit(f"error: {err.code().name}: {err.details()}")
