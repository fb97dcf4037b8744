/*
 * iam_raw.h - private to api/iam: the opaque `raw` values of the policy model.
 *
 * A `raw` pointer is a jansson value, but jansson stays inside iam_json.c;
 * the model code (iam.c) copies and frees raw values only through these two
 * functions.  Not part of the module boundary: nothing outside api/iam
 * includes this header.
 */
#ifndef ROAM_IAM_RAW_H
#define ROAM_IAM_RAW_H

/* Deep copy of a raw value (NULL-safe: NULL gives NULL). */
void *iam_raw_copy(const void *raw);
/* Drops a raw value (NULL-safe). */
void iam_raw_free(void *raw);

#endif
