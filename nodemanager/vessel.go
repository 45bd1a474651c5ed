package nodemanager

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// Vessel is a handle to one vessel on one node manager. Its methods are
// the node manager's vessel calls; all but Info and Resources are signed
// with the client's key, which must be the vessel's owner key or one of
// its user keys (the owner calls need the owner key, which users of the
// clearinghouse never hold).
//
// Signed calls to one vessel are sent one at a time, in timestamp order,
// and are never retried (§7.2).
type Vessel struct {
	node *Node
	name string
	seq  *sequence
}

// Name returns the vessel's name, such as "v12".
func (v *Vessel) Name() string { return v.name }

// Node returns the vessel's node.
func (v *Vessel) Node() *Node { return v.node }

// sequence numbers the signed requests of a handle: "tag:0", "tag:1", and
// so on (§3.4).
type sequence struct {
	tag string
	mu  sync.Mutex
	n   int64
}

func (s *sequence) next() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	s.n++
	return s.tag + ":" + strconv.FormatInt(n, 10)
}

// WithSequence returns a handle to the same vessel whose signed requests
// carry the sequence tag:next, tag:next+1, ... (the original client sent
// None unless told otherwise, as this package's other handles do). A node
// refuses a request whose number does not follow the last one it
// accepted for the vessel under the same tag (for a new tag, is not 0),
// so requests cannot be skipped or replayed out of order. The number
// advances with every request signed, answered or not: after a failure
// whose outcome is unknown, the caller must decide where to continue.
// The tag may not contain ":", "!" or a newline.
func (v *Vessel) WithSequence(tag string, next int64) (*Vessel, error) {
	if strings.ContainsAny(tag, ":!\n") || next < 0 {
		return nil, invalidArgument("sequence tag " + strconv.Quote(tag) + " holds \":\", \"!\" or a newline, or the number is negative")
	}
	return &Vessel{node: v.node, name: v.name, seq: &sequence{tag: tag, n: next}}, nil
}

func (v *Vessel) call(ctx context.Context, call string, args ...string) (string, error) {
	return v.node.call(ctx, call, v.seq, append([]string{v.name}, args...)...)
}

// Info returns the vessel's entry in the node's GetVessels reply (public,
// unsigned). It also checks that the node's key is the one the handle
// signs for: a different key gives an error matching ErrDestination, a
// node without the vessel one matching ErrUnknownVessel.
func (v *Vessel) Info(ctx context.Context) (VesselInfo, error) {
	info, err := v.node.GetVessels(ctx)
	if err != nil {
		return VesselInfo{}, err
	}
	if v.node.key != "" && !nmproto.SameKey(info.NodeKey, v.node.key) {
		return VesselInfo{}, &Error{Call: nmproto.GetVessels, Addr: v.node.addr, Vessel: v.name,
			Text: "the node's key is not the key this handle signs for", kinds: []error{ErrDestination}}
	}
	vi, ok := info.Vessel(v.name)
	if !ok {
		return VesselInfo{}, &Error{Call: nmproto.GetVessels, Addr: v.node.addr, Vessel: v.name,
			Text: "the node lists no such vessel", kinds: []error{ErrUnknownVessel}}
	}
	return vi, nil
}

// Resources returns the vessel's resource file (GetVesselResources,
// public and unsigned).
func (v *Vessel) Resources(ctx context.Context) (*Resources, error) {
	return v.node.GetVesselResources(ctx, v.name)
}

// Start starts a RepyV1 program: args is the program file and its
// arguments, separated by spaces (letters, digits, ".", "-", "_" and
// spaces only). It returns the vessel's new status, normally "Started".
// This is the obsolete StartVessel call; StartEx chooses the platform.
// A start the node could not confirm within its 10 s gives ErrWarning.
func (v *Vessel) Start(ctx context.Context, args string) (string, error) {
	return v.call(ctx, nmproto.StartVessel, args)
}

// StartEx starts a program on platform "repyV1" or "repyV2"
// (StartVesselEx); see Start.
func (v *Vessel) StartEx(ctx context.Context, platform, args string) (string, error) {
	return v.call(ctx, nmproto.StartVesselEx, platform, args)
}

// Stop stops the vessel's program and returns its new status, normally
// "Stopped" (StopVessel). A stop the node could not confirm within its
// 10 s gives ErrWarning.
func (v *Vessel) Stop(ctx context.Context) (string, error) {
	return v.call(ctx, nmproto.StopVessel)
}

// AddFile stores data as the vessel's file name, replacing any file of
// that name (AddFileToVessel). Names follow repy's rules: at most 120
// characters of a-z, 0-9, ".", "_" and "-", not starting with "." nor
// with "private_".
func (v *Vessel) AddFile(ctx context.Context, name string, data []byte) error {
	if strings.IndexByte(name, '|') >= 0 {
		return invalidArgument("file name " + strconv.Quote(name) + " holds \"|\"")
	}
	_, err := v.call(ctx, nmproto.AddFileToVessel, name, string(data))
	return err
}

// maxListedFiles bounds the names ListFiles returns: a reply of
// one-letter names within the reply cap would otherwise become millions
// of strings, eight times the reply's size in string headers alone.
const maxListedFiles = 1 << 20

// ListFiles returns the names of the vessel's files, sorted
// (ListFilesInVessel). A reply of more than 1 048 576 names fails with
// ErrReplyTooLarge.
func (v *Vessel) ListFiles(ctx context.Context) ([]string, error) {
	body, err := v.call(ctx, nmproto.ListFilesInVessel)
	if err != nil {
		return nil, err
	}
	limit := v.node.c.maxListed
	var names []string
	for name := range strings.FieldsSeq(body) {
		if len(names) == limit {
			cause := fmt.Errorf("the node listed more than %d file names", limit)
			return nil, failure(ctx, nmproto.ListFilesInVessel, v.node.addr, v.name, ErrReplyTooLarge, cause, v.node.c.redact)
		}
		names = append(names, name)
	}
	return names, nil
}

// RetrieveFile returns the content of the vessel's file name
// (RetrieveFileFromVessel). A missing file gives ErrFileNotFound.
func (v *Vessel) RetrieveFile(ctx context.Context, name string) ([]byte, error) {
	body, err := v.call(ctx, nmproto.RetrieveFileFromVessel, name)
	if err != nil {
		return nil, err
	}
	return []byte(body), nil
}

// DeleteFile deletes the vessel's file name (DeleteFileInVessel). A
// missing file gives ErrFileNotFound.
func (v *Vessel) DeleteFile(ctx context.Context, name string) error {
	_, err := v.call(ctx, nmproto.DeleteFileInVessel, name)
	return err
}

// ReadLog returns the last 16 KiB of the program's output (ReadVesselLog).
func (v *Vessel) ReadLog(ctx context.Context) (string, error) {
	return v.call(ctx, nmproto.ReadVesselLog)
}

// Reset stops the program and deletes the vessel's files and log; its
// status becomes Fresh (ResetVessel).
func (v *Vessel) Reset(ctx context.Context) error {
	_, err := v.call(ctx, nmproto.ResetVessel)
	return err
}

// ChangeUsers replaces the vessel's user keys (ChangeUsers; owner only).
// No keys leaves the vessel with none.
func (v *Vessel) ChangeUsers(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if strings.IndexByte(k, '|') >= 0 {
			return invalidArgument("user key holds \"|\"")
		}
	}
	_, err := v.call(ctx, nmproto.ChangeUsers, strings.Join(keys, "|"))
	return err
}

// ChangeOwner gives the vessel to key; its owner information is cleared
// and it is advertised again (ChangeOwner; owner only).
func (v *Vessel) ChangeOwner(ctx context.Context, key string) error {
	_, err := v.call(ctx, nmproto.ChangeOwner, key)
	return err
}

// ChangeOwnerInformation sets the owner's note, at most 256 bytes without
// a newline (ChangeOwnerInformation; owner only).
func (v *Vessel) ChangeOwnerInformation(ctx context.Context, info string) error {
	_, err := v.call(ctx, nmproto.ChangeOwnerInformation, info)
	return err
}

// ChangeAdvertise sets whether the node advertises the vessel under its
// keys (ChangeAdvertise; owner only).
func (v *Vessel) ChangeAdvertise(ctx context.Context, advertise bool) error {
	setting := "False"
	if advertise {
		setting = "True"
	}
	_, err := v.call(ctx, nmproto.ChangeAdvertise, setting)
	return err
}
