# A model artifact image: one checkpoint, copied into the shared repository by
# deploy/kubernetes/model-publish-job.yaml (its `fetch` init container runs cp from this image).
#   docker build -f deploy/model-artifact.Dockerfile --build-arg MODEL=models/funnel-student/3/model.fckpt \
#       -t registry.example.com/funnel/funnel-student-model:3 .
FROM busybox:1.36
ARG MODEL=models/funnel-student/1/model.fckpt
COPY ${MODEL} /artifact/model.fckpt
USER 10001:10001
