package nmproto

// API is the node manager's API as a node implements it: one method per
// call, each taking the call's arguments as the engine split them (for
// signed calls the first is the vessel named in the request, which the
// method must still look up: the original answered "No such vessel"
// there). Each returns the node's reply.
type API interface {
	GetVessels() Reply
	GetVesselResources(vessel string) Reply
	GetOffcutResources() Reply
	StartVessel(vessel, args string) Reply
	StartVesselEx(vessel, platform, args string) Reply
	StopVessel(vessel string) Reply
	AddFileToVessel(vessel, filename, data string) Reply
	ListFilesInVessel(vessel string) Reply
	RetrieveFileFromVessel(vessel, filename string) Reply
	DeleteFileInVessel(vessel, filename string) Reply
	ReadVesselLog(vessel string) Reply
	ResetVessel(vessel string) Reply
	ChangeOwner(vessel, ownerKey string) Reply
	ChangeUsers(vessel, userKeys string) Reply
	ChangeOwnerInformation(vessel, info string) Reply
	ChangeAdvertise(vessel, setting string) Reply
	SplitVessel(vessel, resources string) Reply
	JoinVessels(vessel1, vessel2 string) Reply
}

// Dispatch runs the API method of call with args. A call that is not in
// the table, or the wrong number of arguments, gives "Internal Error",
// as a failed function call did in the original.
func Dispatch(api API, call string, args []string) Reply {
	c, ok := LookupCall(call)
	if !ok || len(args) != c.Args {
		return Failure(TextInternalError)
	}
	a := args
	switch call {
	case GetVessels:
		return api.GetVessels()
	case GetVesselResources:
		return api.GetVesselResources(a[0])
	case GetOffcutResources:
		return api.GetOffcutResources()
	case StartVessel:
		return api.StartVessel(a[0], a[1])
	case StartVesselEx:
		return api.StartVesselEx(a[0], a[1], a[2])
	case StopVessel:
		return api.StopVessel(a[0])
	case AddFileToVessel:
		return api.AddFileToVessel(a[0], a[1], a[2])
	case ListFilesInVessel:
		return api.ListFilesInVessel(a[0])
	case RetrieveFileFromVessel:
		return api.RetrieveFileFromVessel(a[0], a[1])
	case DeleteFileInVessel:
		return api.DeleteFileInVessel(a[0], a[1])
	case ReadVesselLog:
		return api.ReadVesselLog(a[0])
	case ResetVessel:
		return api.ResetVessel(a[0])
	case ChangeOwner:
		return api.ChangeOwner(a[0], a[1])
	case ChangeUsers:
		return api.ChangeUsers(a[0], a[1])
	case ChangeOwnerInformation:
		return api.ChangeOwnerInformation(a[0], a[1])
	case ChangeAdvertise:
		return api.ChangeAdvertise(a[0], a[1])
	case SplitVessel:
		return api.SplitVessel(a[0], a[1])
	case JoinVessels:
		return api.JoinVessels(a[0], a[1])
	}
	return Failure(TextInternalError)
}

// Node is a node manager the engine can serve: its vessel table, a place
// to store each vessel's last accepted trailer, and its API.
type Node interface {
	Vessels
	API
	// SetOldMetadata records the trailer of the last signed request the
	// vessel accepted.
	SetOldMetadata(vessel, metadata string)
}

// Serve decides request for node at node time now, records the trailer
// of an accepted signed request and runs the call: the whole of the
// original's request handling after the message is read. The caller
// serializes the requests of one node.
func (e *Engine) Serve(node Node, request string, now float64) Reply {
	d := e.Decide(request, now, node)
	if d.StoreMetadata {
		node.SetOldMetadata(d.Vessel, d.Metadata)
	}
	if !d.Dispatch {
		return d.Reply
	}
	return Dispatch(node, d.Call.Name, d.Args)
}
