/*
 * decode_smb -- see decode_smb.h.  Offsets inside SMB messages are relative to the
 * start of the SMB header, so the header's reader (`msg`) is kept and sub-readers
 * are carved from it with rd_at()/rd_sub(), never by pointer arithmetic.
 */
#include "decode_smb.h"

#include <string.h>

/* svcctl interface UUID 367abb81-9844-35f1-ad32-98f038001003, as sent (little-endian). */
static const uint8_t svcctl_uuid[16] = {0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35,
                                        0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03};

/* ITaskSchedulerService 86d35949-83c9-4044-b424-db363231fd0c and ATSVC 1ff70682-0a51-30e8-076d-740be8cee98b. */
static const uint8_t tasks_uuid[2][16] = {
    {0x49, 0x59, 0xd3, 0x86, 0xc9, 0x83, 0x44, 0x40, 0xb4, 0x24, 0xdb, 0x36, 0x32, 0x31, 0xfd, 0x0c},
    {0x82, 0x06, 0xf7, 0x1f, 0x51, 0x0a, 0xe8, 0x30, 0x07, 0x6d, 0x74, 0x0b, 0xe8, 0xce, 0xe9, 0x8b},
};

#define SMB_MAX_CHAIN 8     /* SMB2 compound commands followed */
#define DCERPC_MAX_CTX 16   /* bind context items examined */

bool decode_smb_is_auth_failure(uint32_t status)
{
    return status == SMB_STATUS_LOGON_FAILURE || status == SMB_STATUS_WRONG_PASSWORD ||
           status == SMB_STATUS_NO_SUCH_USER || status == SMB_STATUS_ACCOUNT_LOCKED;
}

bool decode_dcerpc(struct rd r, struct dcerpc_info *rpc)
{
    uint8_t vers, minor, ptype, flags;
    uint16_t frag_len, auth_len;
    uint32_t call_id;
    uint8_t drep[4];

    memset(rpc, 0, sizeof(*rpc));
    rpc->opnum = 0xffff;
    if (!rd_u8(&r, &vers) || !rd_u8(&r, &minor) || !rd_u8(&r, &ptype) || !rd_u8(&r, &flags) ||
        !rd_copy(&r, drep, 4) || !rd_le16(&r, &frag_len) || !rd_le16(&r, &auth_len) ||
        !rd_le32(&r, &call_id))
        return false;
    if (vers != 5 || minor > 1 || ptype > 20 || frag_len < 16)
        return false;
    if (!(drep[0] & 0x10)) /* big-endian senders exist in theory; Windows never is */
        return false;
    rpc->present = true;
    rpc->ptype = ptype;
    if (ptype == DCERPC_REQUEST) {
        uint32_t alloc_hint;
        uint16_t ctx_id, opnum;
        if (rd_le32(&r, &alloc_hint) && rd_le16(&r, &ctx_id) && rd_le16(&r, &opnum))
            rpc->opnum = opnum;
    } else if (ptype == DCERPC_BIND || ptype == DCERPC_ALTER_CONTEXT) {
        uint16_t max_xmit, max_recv, rsv2;
        uint32_t assoc;
        uint8_t n_ctx, rsv;
        if (!rd_le16(&r, &max_xmit) || !rd_le16(&r, &max_recv) || !rd_le32(&r, &assoc) ||
            !rd_u8(&r, &n_ctx) || !rd_u8(&r, &rsv) || !rd_le16(&r, &rsv2))
            return true;
        for (unsigned i = 0; i < n_ctx && i < DCERPC_MAX_CTX; i++) {
            uint16_t ctx_id;
            uint8_t n_syn, rsv3;
            const uint8_t *uuid;
            if (!rd_le16(&r, &ctx_id) || !rd_u8(&r, &n_syn) || !rd_u8(&r, &rsv3) ||
                !rd_bytes(&r, 16, &uuid) || !rd_skip(&r, 4))
                break;
            if (memcmp(uuid, svcctl_uuid, 16) == 0)
                rpc->svcctl = true;
            if (memcmp(uuid, tasks_uuid[0], 16) == 0 || memcmp(uuid, tasks_uuid[1], 16) == 0)
                rpc->tasks = true;
            if (!rd_skip(&r, (size_t)n_syn * 20))
                break;
        }
    }
    return true;
}

/* Copies a name (UTF-16LE if wide) into out as ASCII, keeping the part after the last '\'. */
static void copy_name(struct rd r, bool wide, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (;;) {
        uint16_t c;
        uint8_t b;
        if (wide) {
            if (!rd_le16(&r, &c))
                break;
        } else {
            if (!rd_u8(&r, &b))
                break;
            c = b;
        }
        if (c == 0)
            break;
        if (c == '\\' || c == '/') {
            n = 0;
            continue;
        }
        if (n + 1 < cap)
            out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        out[n] = '\0';
    }
    out[n < cap ? n : cap - 1] = '\0';
}

/* The data of an SMB2 WRITE or IOCTL request as a DCE/RPC PDU. */
static void smb2_payload_rpc(struct rd msg, uint16_t cmd, struct dcerpc_info *rpc)
{
    struct rd body = msg, data;
    uint16_t ssize;
    if (!rd_skip(&body, 64) || !rd_le16(&body, &ssize))
        return;
    if (cmd == SMB2_WRITE) {
        uint16_t off;
        uint32_t len;
        if (!rd_le16(&body, &off) || !rd_le32(&body, &len))
            return;
        if (rd_at(msg, off, &data) && rd_left(&data) >= 16)
            (void)decode_dcerpc(data, rpc);
    } else if (cmd == SMB2_IOCTL) {
        uint16_t rsv;
        uint32_t ctl, in_off, in_count;
        if (!rd_le16(&body, &rsv) || !rd_le32(&body, &ctl) || !rd_skip(&body, 16) ||
            !rd_le32(&body, &in_off) || !rd_le32(&body, &in_count))
            return;
        if (in_count >= 16 && rd_at(msg, in_off, &data))
            (void)decode_dcerpc(data, rpc);
    }
}

static bool decode_smb2(struct rd msg, struct pkt_smb *smb, struct dcerpc_info *rpc)
{
    for (unsigned chain = 0; chain < SMB_MAX_CHAIN; chain++) {
        struct rd h = msg;
        uint32_t magic, status, flags, next;
        uint16_t ssize, credit, cmd, credits;
        uint64_t msg_id;
        if (!rd_be32(&h, &magic) || !rd_le16(&h, &ssize) || !rd_le16(&h, &credit) ||
            !rd_le32(&h, &status) || !rd_le16(&h, &cmd) || !rd_le16(&h, &credits) ||
            !rd_le32(&h, &flags) || !rd_le32(&h, &next) || !rd_le64(&h, &msg_id))
            return chain > 0;
        if (magic != 0xfe534d42u || ssize != 64)
            return chain > 0;
        bool resp = (flags & 1u) != 0;
        if (chain == 0 || cmd == SMB2_TREE_CONNECT || cmd == SMB2_CREATE) {
            smb->version = 2;
            smb->command = cmd;
            smb->status = status;
            smb->is_response = resp;
            smb->mid = (uint16_t)msg_id;
        }
        if (!resp && cmd == SMB2_TREE_CONNECT) {
            struct rd body = msg, at, path;
            uint16_t sz, rsv, off, len;
            if (rd_skip(&body, 64) && rd_le16(&body, &sz) && rd_le16(&body, &rsv) &&
                rd_le16(&body, &off) && rd_le16(&body, &len) && rd_at(msg, off, &at) &&
                rd_sub(&at, WARD_MIN((size_t)len, rd_left(&at)), &path))
                copy_name(path, true, smb->tree, sizeof(smb->tree));
        } else if (!resp && cmd == SMB2_CREATE) {
            struct rd body = msg, at, name;
            uint16_t off, len;
            if (rd_skip(&body, 64 + 44) && rd_le16(&body, &off) && rd_le16(&body, &len) &&
                rd_at(msg, off, &at) && rd_sub(&at, WARD_MIN((size_t)len, rd_left(&at)), &name))
                copy_name(name, true, smb->pipe, sizeof(smb->pipe));
        } else if (!resp && (cmd == SMB2_WRITE || cmd == SMB2_IOCTL) && !rpc->present) {
            smb2_payload_rpc(msg, cmd, rpc);
        }
        if (next < 64 || !rd_at(msg, next, &msg))
            break;
    }
    return true;
}

static bool decode_smb1(struct rd msg, struct pkt_smb *smb, struct dcerpc_info *rpc)
{
    struct rd h = msg;
    uint32_t magic, status;
    uint8_t cmd, flags, wc;
    uint16_t flags2, tid, pid, uid, mid;
    if (!rd_be32(&h, &magic) || !rd_u8(&h, &cmd) || !rd_le32(&h, &status) || !rd_u8(&h, &flags) ||
        !rd_le16(&h, &flags2) || !rd_skip(&h, 12) || !rd_le16(&h, &tid) || !rd_le16(&h, &pid) ||
        !rd_le16(&h, &uid) || !rd_le16(&h, &mid))
        return false;
    if (magic != 0xff534d42u)
        return false;
    smb->version = 1;
    smb->command = cmd;
    smb->status = status;
    smb->is_response = (flags & 0x80) != 0;
    smb->mid = mid;
    bool unicode = (flags2 & 0x8000) != 0;
    struct rd words;
    if (!rd_u8(&h, &wc) || !rd_sub(&h, (size_t)wc * 2, &words))
        return true;
    uint16_t byte_count = 0;
    struct rd bytes = rd_make(NULL, 0);
    if (rd_le16(&h, &byte_count))
        bytes = h; /* what is captured of the byte block */
    if (smb->is_response)
        return true;
    if (cmd == SMB1_TRANS2 && wc >= 15) {
        uint16_t total_param, total_data, sub;
        struct rd w = words;
        if (rd_le16(&w, &total_param) && rd_le16(&w, &total_data) && rd_skip(&w, 24) &&
            rd_le16(&w, &sub)) {
            smb->sub_command = sub;
            smb->trans_param_count = total_param;
            smb->trans_data_count = total_data;
        }
    } else if (cmd == SMB1_NT_TRANSACT && wc >= 19) {
        uint8_t max_setup;
        uint16_t rsv, func;
        uint32_t total_param, total_data;
        struct rd w = words;
        if (rd_u8(&w, &max_setup) && rd_le16(&w, &rsv) && rd_le32(&w, &total_param) &&
            rd_le32(&w, &total_data) && rd_skip(&w, 24) && rd_skip(&w, 1) &&
            rd_le16(&w, &func)) {
            smb->sub_command = func;
            smb->trans_param_count = total_param;
            smb->trans_data_count = total_data;
        }
    } else if (cmd == SMB1_TREE_CONNECT_ANDX && wc >= 4) {
        uint16_t pw_len;
        struct rd w = words, b = bytes;
        if (rd_skip(&w, 6) && rd_le16(&w, &pw_len) && rd_skip(&b, pw_len)) {
            /* A unicode path is 2-byte aligned from the header start. */
            if (unicode && (rd_offset(&msg, &b) & 1) && !rd_skip(&b, 1))
                return true;
            copy_name(b, unicode, smb->tree, sizeof(smb->tree));
        }
    } else if (cmd == SMB1_NT_CREATE_ANDX && wc >= 24) {
        struct rd b = bytes;
        if (unicode && (rd_offset(&msg, &b) & 1) && !rd_skip(&b, 1))
            return true;
        copy_name(b, unicode, smb->pipe, sizeof(smb->pipe));
    } else if (cmd == SMB1_WRITE_ANDX && wc >= 12) {
        uint16_t data_len, data_off;
        struct rd w = words, data;
        if (rd_skip(&w, 20) && rd_le16(&w, &data_len) && rd_le16(&w, &data_off) &&
            rd_at(msg, data_off, &data) && data_len >= 16)
            (void)decode_dcerpc(data, rpc);
    } else if (cmd == SMB1_TRANS && wc >= 14) {
        uint16_t data_count, data_off;
        struct rd w = words, data;
        if (rd_skip(&w, 22) && rd_le16(&w, &data_count) && rd_le16(&w, &data_off) &&
            rd_at(msg, data_off, &data) && data_count >= 16)
            (void)decode_dcerpc(data, rpc);
    }
    return true;
}

bool decode_smb(struct rd r, struct pkt_smb *smb, struct dcerpc_info *rpc)
{
    uint8_t first;
    memset(smb, 0, sizeof(*smb));
    smb->dcerpc_opnum = 0xffff;
    memset(rpc, 0, sizeof(*rpc));
    rpc->opnum = 0xffff;
    if (!rd_peek_u8(&r, 0, &first))
        return false;
    if (first == 0x00) { /* NetBIOS session message: type 0, 17-bit length */
        uint32_t hdr;
        if (!rd_be32(&r, &hdr))
            return false;
        uint32_t len = hdr & 0x1ffffu;
        if (len < 32)
            return false;
        struct rd whole = r;
        if (rd_left(&whole) > len && !rd_sub(&whole, len, &r))
            return false;
    }
    uint8_t b0;
    if (!rd_peek_u8(&r, 0, &b0))
        return false;
    bool ok = false;
    if (b0 == 0xfe)
        ok = decode_smb2(r, smb, rpc);
    else if (b0 == 0xff)
        ok = decode_smb1(r, smb, rpc);
    if (ok && rpc->present && rpc->ptype == DCERPC_REQUEST)
        smb->dcerpc_opnum = rpc->opnum;
    return ok;
}
