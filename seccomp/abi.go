package seccomp

import "unsafe"

// Data mirrors struct seccomp_data: the registers of a trapped syscall.
type Data struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// Notif mirrors struct seccomp_notif, filled by NOTIF_RECV.
type Notif struct {
	ID    uint64
	Pid   uint32 // thread id of the caller, in the listener's pid namespace
	Flags uint32
	Data  Data
}

// NotifResp mirrors struct seccomp_notif_resp, sent by NOTIF_SEND.
type NotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// NotifAddFD mirrors struct seccomp_notif_addfd, used by NOTIF_ADDFD.
type NotifAddFD struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

// ioctl request numbers: _IOWR/_IOW('!', n, type) as in <linux/seccomp.h>.
const (
	ioctlNotifRecv     = 0xc0502100 // _IOWR('!', 0, struct seccomp_notif)
	ioctlNotifSend     = 0xc0182101 // _IOWR('!', 1, struct seccomp_notif_resp)
	ioctlNotifIDValid  = 0x40082102 // _IOW('!', 2, __u64)
	ioctlNotifAddFD    = 0x40182103 // _IOW('!', 3, struct seccomp_notif_addfd)
	ioctlNotifSetFlags = 0x40082104 // _IOW('!', 4, __u64)
)

// Flags for responses, ADDFD and SET_FLAGS.
const (
	RespFlagContinue = 1 // SECCOMP_USER_NOTIF_FLAG_CONTINUE
	AddFDFlagSetFD   = 1 // SECCOMP_ADDFD_FLAG_SETFD
	AddFDFlagSend    = 2 // SECCOMP_ADDFD_FLAG_SEND
	FDSyncWakeUp     = 1 // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP

	// AuditArchX86_64 is AUDIT_ARCH_X86_64.
	AuditArchX86_64 = 0xc000003e
	// X32Bit marks x32 syscall numbers.
	X32Bit = 0x40000000
)

// Filter flags for seccomp(SECCOMP_SET_MODE_FILTER).
const (
	FilterFlagNewListener      = 1 << 3
	FilterFlagWaitKillableRecv = 1 << 5
)

func init() {
	// The kernel checks sizes; a wrong struct layout would be a silent bug.
	if unsafe.Sizeof(Notif{}) != 80 || unsafe.Sizeof(NotifResp{}) != 24 || unsafe.Sizeof(NotifAddFD{}) != 24 {
		panic("seccomp: ABI struct size mismatch")
	}
}
