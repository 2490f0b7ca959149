/*
 * decode_smb -- the SMB1/SMB2 and DCE/RPC header facts the lateral-movement and
 * brute-force detectors need, read from one TCP segment's payload.
 *
 * Specifications: [MS-SMB] 2.2.3.1 (SMB1 header), 2.2.4.46 (TRANS2), 2.2.4.62
 * (NT_TRANSACT); [MS-SMB2] 2.2.1 (SMB2 header), 2.2.9 (TREE_CONNECT), 2.2.13
 * (CREATE), 2.2.21 (WRITE), 2.2.31 (IOCTL); C706 chapter 12 (DCE/RPC PDUs);
 * RFC 1002 4.3.1 (NetBIOS session message).
 *
 *   NetBIOS session message      SMB1 header (32 bytes)           SMB2 header (64 bytes)
 *   +------+----------------+    +----------+-----+--------+---   +----------+----+----+------+
 *   | 0x00 | length (24 bit)|    | \xffSMB  | cmd | status | ..   | \xfeSMB  | 64 | .. | cmd  | ..
 *   +------+----------------+    +----------+-----+--------+---   +----------+----+----+------+
 *
 * Only the first SMB message of a segment is read (and, for SMB2, the commands
 * chained after it), which is where requests start; a message split across
 * segments is read as far as its first segment goes.  Names are reduced to ASCII
 * (other characters become '?').  Every read goes through struct rd; nothing
 * here allocates.  Any thread.
 */
#ifndef WARD_DECODE_SMB_H
#define WARD_DECODE_SMB_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"
#include "rd.h"

#define SMB1_TRANS 0x25
#define SMB1_WRITE_ANDX 0x2f
#define SMB1_TRANS2 0x32
#define SMB1_TRANS2_SECONDARY 0x33
#define SMB1_NT_TRANSACT 0xa0
#define SMB1_NT_CREATE_ANDX 0xa2
#define SMB1_SESSION_SETUP_ANDX 0x73
#define SMB1_TREE_CONNECT_ANDX 0x75
#define SMB1_TRANS2_SESSION_SETUP 0x000e

#define SMB2_SESSION_SETUP 0x0001
#define SMB2_TREE_CONNECT 0x0003
#define SMB2_CREATE 0x0005
#define SMB2_WRITE 0x0009
#define SMB2_IOCTL 0x000b

#define SMB_STATUS_LOGON_FAILURE 0xc000006du
#define SMB_STATUS_ACCOUNT_LOCKED 0xc0000234u
#define SMB_STATUS_WRONG_PASSWORD 0xc000006au
#define SMB_STATUS_NO_SUCH_USER 0xc0000064u

#define DCERPC_REQUEST 0
#define DCERPC_BIND 11
#define DCERPC_ALTER_CONTEXT 14

/* A DCE/RPC PDU found in a segment or in an SMB write/ioctl/transaction. */
struct dcerpc_info {
    bool present;   /* a PDU header was read */
    uint8_t ptype;  /* DCERPC_* */
    uint16_t opnum; /* request opnum, 0xffff otherwise */
    bool svcctl;    /* a bind/alter_context offering the svcctl interface */
    bool tasks;     /* ... offering a task scheduler interface (ITaskSchedulerService, ATSVC) */
};

/*
 * Reads the first SMB message of a TCP payload (with or without its NetBIOS
 * session header).  Fills smb (pkt.h) and, for SMB pipes carrying DCE/RPC, rpc.
 * Returns false if the payload does not start an SMB message.
 */
bool decode_smb(struct rd r, struct pkt_smb *smb, struct dcerpc_info *rpc);

/* Reads a DCE/RPC PDU at the start of r (connection-oriented, over TCP or a pipe). */
bool decode_dcerpc(struct rd r, struct dcerpc_info *rpc);

/* True if an SMB2 status is an authentication failure (logon failure, bad password...). */
bool decode_smb_is_auth_failure(uint32_t status);

#endif
