#!/usr/bin/env bash
# hack/deploy.sh - the gcloud commands that put roam on Google Cloud, in order.
#
#   PROJECT_ID=acme-platform hack/deploy.sh             print the commands
#   PROJECT_ID=acme-platform hack/deploy.sh --execute   run them
#
# Settings (environment):
#   PROJECT_ID      required; the project roam runs in and manages
#   REGION          Cloud Run region (default europe-west1)
#   BUCKET          source and state bucket (default PROJECT_ID-roam); apps
#                   go under gs://BUCKET/apps/, the ledger under
#                   gs://BUCKET/.roam/state/
#   IMAGE           container image (default REGION-docker.pkg.dev/
#                   PROJECT_ID/roam/roam:VERSION)
#   PROJECT_NUMBER  looked up with gcloud when not given; needed for the
#                   Google service agents and the service URL
#   SCHEDULE        cron for the apply job (default '*/15 * * * *')
#   OUT             where the filled-in manifests go (default ./.roam/deploy)
#
# The manifests in manifests/deploy/ carry the placeholders PROJECT_ID,
# PROJECT_NUMBER, REGION, BUCKET, IMAGE and SERVICE_URL; this script writes
# filled-in copies to OUT and the commands use those.  SERVICE_URL is the
# service's deterministic URL, https://roam-PROJECT_NUMBER.REGION.run.app, so
# the push subscription and ROAM_PUSH_AUDIENCE can be set before the first
# deploy; --execute checks it against the deployed service's status.url.
#
# Printing runs nothing but `gcloud projects describe` when PROJECT_NUMBER
# is not given (and not even that when gcloud is absent).  --execute skips
# the creation of what already exists, so it can be run again after a
# change (the role, the service, the job and the scheduler job are updated).
# The caller needs to administer the project (Owner, or the roles to enable
# APIs, create service accounts, roles, buckets, topics, feeds and Cloud Run
# resources, and act as the three service accounts).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
manifests="$here/manifests/deploy"
execute=0
case "${1:-}" in
--execute) execute=1 ;;
"" | --print) ;;
-h | --help)
    sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "deploy: unknown argument '$1' (expected --execute or nothing)" >&2
    exit 2
    ;;
esac

if [ -z "${PROJECT_ID:-}" ]; then
    echo "deploy: set PROJECT_ID (and optionally REGION, BUCKET, IMAGE)" >&2
    exit 2
fi
REGION=${REGION:-europe-west1}
BUCKET=${BUCKET:-$PROJECT_ID-roam}
VERSION=$(sed -n 's/^project(roam VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")
IMAGE=${IMAGE:-$REGION-docker.pkg.dev/$PROJECT_ID/roam/roam:${VERSION:-latest}}
SCHEDULE=${SCHEDULE:-'*/15 * * * *'}
OUT=${OUT:-./.roam/deploy}

if [ -z "${PROJECT_NUMBER:-}" ]; then
    if command -v gcloud >/dev/null 2>&1 &&
        PROJECT_NUMBER=$(gcloud projects describe "$PROJECT_ID" --format='value(projectNumber)' 2>/dev/null) &&
        [ -n "$PROJECT_NUMBER" ]; then
        :
    elif [ "$execute" = 1 ]; then
        echo "deploy: cannot look up the number of project '$PROJECT_ID'; set PROJECT_NUMBER" >&2
        exit 1
    else
        PROJECT_NUMBER=PROJECT_NUMBER
    fi
fi
SERVICE_URL=${SERVICE_URL:-https://roam-$PROJECT_NUMBER.$REGION.run.app}

SA_ROAM=roam@$PROJECT_ID.iam.gserviceaccount.com
SA_PUSH=roam-push@$PROJECT_ID.iam.gserviceaccount.com
SA_SCHED=roam-scheduler@$PROJECT_ID.iam.gserviceaccount.com
AGENT_PUBSUB=service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com
AGENT_ASSET=service-$PROJECT_NUMBER@gcp-sa-cloudasset.iam.gserviceaccount.com
ROLE=projects/$PROJECT_ID/roles/roamController
TOPIC=projects/$PROJECT_ID/topics/roam-events
P=(--project "$PROJECT_ID")

# Fills the placeholders of every manifest into $OUT.  Longer names first:
# PROJECT_ID and PROJECT_NUMBER before anything that could contain them.
render() {
    mkdir -p "$OUT"
    for f in service.yaml job.yaml scheduler.yaml pubsub.yaml role.yaml notification.json \
        asset-feed.json; do
        sed -e "s|SERVICE_URL|$SERVICE_URL|g" \
            -e "s|PROJECT_NUMBER|$PROJECT_NUMBER|g" \
            -e "s|PROJECT_ID|$PROJECT_ID|g" \
            -e "s|BUCKET|$BUCKET|g" \
            -e "s|REGION|$REGION|g" \
            -e "s|IMAGE|$IMAGE|g" \
            "$manifests/$f" >"$OUT/$f"
    done
}

step=0
section() {
    step=$((step + 1))
    printf '\n# %d. %s\n' "$step" "$*"
}

# One word for the shell: as is when safe, else in single quotes.
quote() {
    if [[ $1 =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}

# Prints a command (quoted, ready to paste) and runs it with --execute.
run() {
    local q=() a
    for a in "$@"; do
        q+=("$(quote "$a")")
    done
    echo "${q[*]}"
    if [ "$execute" = 1 ]; then
        "$@"
    fi
}

# run, unless `$exists` (a command) succeeds under --execute: the resource is
# there already.
exists=
run_unless() {
    if [ "$execute" = 1 ] && eval "$exists" >/dev/null 2>&1; then
        echo "# (exists) $*"
        return 0
    fi
    run "$@"
}

render
echo "# roam on Google Cloud: project $PROJECT_ID ($PROJECT_NUMBER), region $REGION"
echo "# bucket gs://$BUCKET, image $IMAGE"
echo "# filled-in manifests: $OUT"

section "enable the APIs"
run gcloud services enable "${P[@]}" run.googleapis.com iam.googleapis.com \
    iamcredentials.googleapis.com cloudresourcemanager.googleapis.com storage.googleapis.com \
    pubsub.googleapis.com cloudscheduler.googleapis.com cloudasset.googleapis.com \
    artifactregistry.googleapis.com cloudbuild.googleapis.com

section "create the service accounts: roam's identity, the push identity, the scheduler identity"
for sa in "roam:roam controller" "roam-push:roam Pub/Sub push" "roam-scheduler:roam apply schedule"; do
    exists="gcloud iam service-accounts describe ${sa%%:*}@$PROJECT_ID.iam.gserviceaccount.com ${P[*]}"
    run_unless gcloud iam service-accounts create "${sa%%:*}" "${P[@]}" --display-name "${sa#*:}"
done

section "create the least-privilege custom role from role.yaml"
if [ "$execute" = 1 ] && gcloud iam roles describe roamController "${P[@]}" >/dev/null 2>&1; then
    run gcloud iam roles update roamController "${P[@]}" --file "$OUT/role.yaml" --quiet
else
    run gcloud iam roles create roamController "${P[@]}" --file "$OUT/role.yaml"
fi

section "grant the role to roam's service account at project level"
run gcloud projects add-iam-policy-binding "$PROJECT_ID" --member "serviceAccount:$SA_ROAM" \
    --role "$ROLE" --condition None

section "create the source and state bucket"
exists="gcloud storage buckets describe gs://$BUCKET ${P[*]}"
run_unless gcloud storage buckets create "gs://$BUCKET" "${P[@]}" --location "$REGION" \
    --uniform-bucket-level-access --public-access-prevention

section "build the image (Artifact Registry repository, Cloud Build)"
exists="gcloud artifacts repositories describe roam ${P[*]} --location $REGION"
run_unless gcloud artifacts repositories create roam "${P[@]}" --location "$REGION" \
    --repository-format docker
run gcloud builds submit "$here" "${P[@]}" --config "$manifests/cloudbuild.yaml" \
    --substitutions "_IMAGE=$IMAGE"

section "deploy the service (roam serve) and let the push identity invoke it"
run gcloud run services replace "$OUT/service.yaml" "${P[@]}" --region "$REGION"
run gcloud run services add-iam-policy-binding roam "${P[@]}" --region "$REGION" \
    --member "serviceAccount:$SA_PUSH" --role roles/run.invoker
if [ "$execute" = 1 ]; then
    url=$(gcloud run services describe roam "${P[@]}" --region "$REGION" --format 'value(status.url)')
    if [ "$url" != "$SERVICE_URL" ]; then
        echo "deploy: the service URL is $url, not $SERVICE_URL: run again with SERVICE_URL=$url" >&2
        exit 1
    fi
fi

section "create the topic and the push subscription with an OIDC token (pubsub.yaml)"
exists="gcloud pubsub topics describe roam-events ${P[*]}"
run_unless gcloud pubsub topics create roam-events "${P[@]}"
exists="gcloud pubsub topics describe roam-events-dead ${P[*]}"
run_unless gcloud pubsub topics create roam-events-dead "${P[@]}"
# The Pub/Sub service agent signs the push tokens as roam-push.
run gcloud iam service-accounts add-iam-policy-binding "$SA_PUSH" "${P[@]}" \
    --member "serviceAccount:$AGENT_PUBSUB" --role roles/iam.serviceAccountTokenCreator
exists="gcloud pubsub subscriptions describe roam-push ${P[*]}"
run_unless gcloud pubsub subscriptions create roam-push "${P[@]}" --topic roam-events \
    --push-endpoint "$SERVICE_URL/pubsub" --push-auth-service-account "$SA_PUSH" \
    --push-auth-token-audience "$SERVICE_URL" --ack-deadline 60 \
    --min-retry-delay 10s --max-retry-delay 600s \
    --dead-letter-topic roam-events-dead --max-delivery-attempts 5 \
    --message-retention-duration 1d --expiration-period never
exists="gcloud pubsub subscriptions describe roam-events-dead ${P[*]}"
run_unless gcloud pubsub subscriptions create roam-events-dead "${P[@]}" --topic roam-events-dead \
    --ack-deadline 60 --message-retention-duration 7d --expiration-period never
# Dead lettering: the service agent publishes to the dead-letter topic and
# acknowledges on the push subscription.
run gcloud pubsub topics add-iam-policy-binding roam-events-dead "${P[@]}" \
    --member "serviceAccount:$AGENT_PUBSUB" --role roles/pubsub.publisher
run gcloud pubsub subscriptions add-iam-policy-binding roam-push "${P[@]}" \
    --member "serviceAccount:$AGENT_PUBSUB" --role roles/pubsub.subscriber

section "notify the topic of changes under gs://$BUCKET/apps/ (notification.json)"
exists="gcloud storage buckets notifications list gs://$BUCKET ${P[*]} --format='value(topic)' | grep -q roam-events"
run_unless gcloud storage buckets notifications create "gs://$BUCKET" "${P[@]}" --topic "$TOPIC" \
    --payload-format json --event-types OBJECT_FINALIZE,OBJECT_DELETE --object-prefix apps/ \
    --custom-attributes roam-trigger=source

section "feed IAM policy changes of services, jobs and service accounts to the topic (asset-feed.json)"
run gcloud beta services identity create --service cloudasset.googleapis.com "${P[@]}"
run gcloud pubsub topics add-iam-policy-binding roam-events "${P[@]}" \
    --member "serviceAccount:$AGENT_ASSET" --role roles/pubsub.publisher
exists="gcloud asset feeds describe roam-iam ${P[*]}"
run_unless gcloud asset feeds create roam-iam "${P[@]}" --pubsub-topic "$TOPIC" \
    --asset-types run.googleapis.com/Service,run.googleapis.com/Job,iam.googleapis.com/ServiceAccount \
    --content-type iam-policy

section "deploy the apply job (roam apply, sharded over its tasks) and schedule it (scheduler.yaml)"
run gcloud run jobs replace "$OUT/job.yaml" "${P[@]}" --region "$REGION"
run gcloud run jobs add-iam-policy-binding roam-apply "${P[@]}" --region "$REGION" \
    --member "serviceAccount:$SA_SCHED" --role roles/run.invoker
sched=(--location "$REGION" --schedule "$SCHEDULE" --time-zone Etc/UTC
    --uri "https://run.googleapis.com/v2/projects/$PROJECT_ID/locations/$REGION/jobs/roam-apply:run"
    --http-method POST --oauth-service-account-email "$SA_SCHED"
    --oauth-token-scope https://www.googleapis.com/auth/cloud-platform
    --attempt-deadline 60s --max-retry-attempts 3 --min-backoff 30s --max-backoff 300s)
if [ "$execute" = 1 ] &&
    gcloud scheduler jobs describe roam-apply "${P[@]}" --location "$REGION" >/dev/null 2>&1; then
    run gcloud scheduler jobs update http roam-apply "${P[@]}" "${sched[@]}"
else
    run gcloud scheduler jobs create http roam-apply "${P[@]}" "${sched[@]}"
fi

printf '\n# done: put OAM documents under gs://%s/apps/ and watch\n' "$BUCKET"
echo "#   gcloud logging read 'resource.type=cloud_run_revision AND jsonPayload.audit=true' --project $PROJECT_ID"
