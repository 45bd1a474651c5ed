package mockserver

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The node managers' JSON controls under /admin/ (see the package documentation, The /admin/ controls, and
// docs/nodemanager-api.md §8.9). Vessels are named by their handle in the
// path, percent-encoded ("/admin/vessels/65537%2012...%3Av2/nodemanager").

func (s *Server) nmAdminRoutes(h func(pattern string, fn func(r *http.Request) (int, any, error))) {
	h("GET /admin/nodemanagers", s.adminNodeManagers)
	h("GET /admin/vessels/{handle}/nodemanager", s.adminVesselNodeManager)
	h("POST /admin/vessels/{handle}/nodemanager/listen", s.adminNMListen)
	h("POST /admin/vessels/{handle}/nodemanager/log", s.adminNMLog)
	h("POST /admin/vessels/{handle}/nodemanager/end", s.adminNMEnd)
	h("POST /admin/vessels/{handle}/nodemanager/hang", s.adminNMHang)
}

type jsonNodeManagers struct {
	Enabled            bool                        `json:"enabled"`
	LoopbackOnly       bool                        `json:"loopback_only"`
	Region             string                      `json:"region,omitempty"`
	Listeners          int                         `json:"listeners"`
	MaxListeners       int                         `json:"max_listeners"`
	DiskUsed           int64                       `json:"disk_used"`
	DiskCap            int64                       `json:"disk_cap"`
	Calls              map[string]NodeManagerCalls `json:"calls"`
	RefusedConnections uint64                      `json:"refused_connections"`
	BadRequests        uint64                      `json:"bad_requests"`
	ListenFailures     uint64                      `json:"listen_failures"`
	Note               string                      `json:"note,omitempty"`
}

func (s *Server) adminNodeManagers(r *http.Request) (int, any, error) {
	st, err := s.NodeManagers()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, jsonNodeManagers{
		Enabled: st.Enabled, LoopbackOnly: st.LoopbackOnly, Region: st.Region,
		Listeners: st.Listeners, MaxListeners: st.MaxListeners, DiskUsed: st.DiskUsed, DiskCap: st.DiskCap,
		Calls: st.Calls, RefusedConnections: st.RefusedConnections, BadRequests: st.BadRequests,
		ListenFailures: st.ListenFailures, Note: st.Note,
	}, nil
}

type jsonVesselNodeManager struct {
	Handle     string         `json:"handle"`
	Address    string         `json:"address,omitempty"`
	Status     string         `json:"status"`
	UserKeys   []string       `json:"user_keys"`
	OwnerKey   string         `json:"owner_key"`
	Files      map[string]int `json:"files"`
	Log        string         `json:"log"`
	Program    string         `json:"program,omitempty"`
	Args       []string       `json:"args,omitempty"`
	StartHangs bool           `json:"start_hangs,omitempty"`
	HangWait   string         `json:"hang_wait,omitempty"`
}

func (s *Server) adminVesselNodeManager(r *http.Request) (int, any, error) {
	v, err := s.VesselNodeManager(r.PathValue("handle"))
	if err != nil {
		return 0, nil, err
	}
	out := jsonVesselNodeManager{
		Handle: v.Handle, Address: v.Addr, Status: v.Status, UserKeys: v.UserKeys, OwnerKey: v.OwnerKey,
		Files: v.Files, Log: v.Log, Program: v.Program, Args: v.Args, StartHangs: v.StartHangs,
	}
	if out.UserKeys == nil {
		out.UserKeys = []string{}
	}
	if v.StartHangs {
		out.HangWait = v.HangWait.String()
	}
	return http.StatusOK, out, nil
}

func (s *Server) adminNMListen(r *http.Request) (int, any, error) {
	if r.ContentLength > 0 {
		var in struct{}
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
	}
	addr, err := s.NodeManagerAddr(r.PathValue("handle"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"address": addr}, nil
}

func (s *Server) adminNMLog(r *http.Request) (int, any, error) {
	var in struct {
		Text *string `json:"text"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Text == nil {
		return 0, nil, badRequestf(`want {"text": "..."}`)
	}
	if err := s.AppendVesselLog(r.PathValue("handle"), *in.Text); err != nil {
		return 0, nil, err
	}
	return s.adminVesselNodeManager(r)
}

func (s *Server) adminNMEnd(r *http.Request) (int, any, error) {
	if r.ContentLength > 0 {
		var in struct{}
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
	}
	if err := s.EndVesselProgram(r.PathValue("handle")); err != nil {
		return 0, nil, err
	}
	return s.adminVesselNodeManager(r)
}

func (s *Server) adminNMHang(r *http.Request) (int, any, error) {
	var in struct {
		Wait *string `json:"wait"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
	}
	wait := NodeManagerStartWait
	if in.Wait != nil {
		d, err := time.ParseDuration(*in.Wait)
		if err != nil {
			return 0, nil, badRequestf("wait %q: want a Go duration such as 2s", *in.Wait)
		}
		wait = d
	}
	if err := s.HangVesselStart(r.PathValue("handle"), wait); err != nil {
		return 0, nil, err
	}
	return s.adminVesselNodeManager(r)
}

// nmView is the status page's node manager section.
type nmView struct {
	Note                         string
	Listeners, MaxListeners      int
	Disk                         string
	Refused, Bad, ListenFailures uint64
	Calls                        []nmCallView
}

type nmCallView struct {
	Name                                string
	Requests, Errors, Warnings, Dropped uint64
}

// nmViewOf formats the node managers' status for the page, or nil when
// they are off.
func nmViewOf(s *Server) (*nmView, error) {
	st, err := s.NodeManagers()
	if err != nil || !st.Enabled {
		return nil, err
	}
	v := &nmView{
		Note: st.Note, Listeners: st.Listeners, MaxListeners: st.MaxListeners,
		Disk:    strconv.FormatInt(st.DiskUsed, 10) + " of " + strconv.FormatInt(st.DiskCap, 10) + " bytes used by files and logs",
		Refused: st.RefusedConnections, Bad: st.BadRequests, ListenFailures: st.ListenFailures,
	}
	for _, name := range slices.Sorted(maps.Keys(st.Calls)) {
		c := st.Calls[name]
		v.Calls = append(v.Calls, nmCallView{Name: name, Requests: c.Requests, Errors: c.Errors, Warnings: c.Warnings, Dropped: c.Dropped})
	}
	return v, nil
}
