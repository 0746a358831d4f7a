/* The server's answers to an upload checked against what was declared, as the Swift CLI
 * checks them (PartitionSender.check, Uploader.check): an acknowledgement or a commit that
 * does not describe the file sent is DATA_LOSS (exit 5), never a success. */
#ifndef SLUICE_C_UPLOAD_CHECK_H
#define SLUICE_C_UPLOAD_CHECK_H

#include "plan.h"
#include "sluice/v1/object_info.pb-c.h"
#include "sluice/v1/upload_sessions.pb-c.h"
#include "status.h"

/* An UploadPartition answer names partition `index`, its size and its SHA-256. */
bool upload_check_ack(const Plan *plan, int32_t index, const Sluice__V1__UploadPartitionResponse *ack,
                      Status *st);
/* A commit's object has the file's size, its whole-file SHA-256 (or none yet, PENDING), the
 * composite of its partition hashes (when sent), and no MISMATCH state. */
bool upload_check_commit(const Plan *plan, const Sluice__V1__ObjectInfo *object, Status *st);

#endif
