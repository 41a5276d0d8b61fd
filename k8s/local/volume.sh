#!/usr/bin/env bash
# A hostPath PersistentVolume for MongoDB's first member on the local cluster (it has no
# storage provisioner), inside the cluster's state directory (down.sh removes it), bound to the
# claim the chart's volumeClaimTemplate makes: k8s/local-values.yaml keeps MongoDB's data on it
# (StorageClass chatbot-local), so a restarted MongoDB pod keeps every conversation.
#
#   k8s/local/volume.sh [NAMESPACE] [RELEASE]     # defaults: chatbot chatbot
set -euo pipefail
source "$(dirname "$0")/lib.sh"
NS="${1:-chatbot}"
RELEASE="${2:-chatbot}"
dir="$K8S_LOCAL_DIR/volumes/$NS-$RELEASE-mongodb-0"
mkdir -p "$dir"
chown 999:999 "$dir" # the mongodb user of the MongoDB (and FerretDB) images
kubectl_admin apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $NS-$RELEASE-mongodb-0
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: chatbot-local
  claimRef: {namespace: $NS, name: data-$RELEASE-mongodb-0}
  hostPath: {path: $dir, type: Directory}
YAML
echo "$NS-$RELEASE-mongodb-0"
