package nmproto

// Permission says who may make a call (docs/nodemanager-api.md §4).
type Permission int

const (
	// Public calls are sent unsigned; anyone may make them.
	Public Permission = iota
	// User calls are signed by the vessel's owner key or one of its user
	// keys.
	User
	// Owner calls are signed by the vessel's owner key.
	Owner
)

func (p Permission) String() string {
	switch p {
	case Public:
		return "Public"
	case User:
		return "User"
	case Owner:
		return "Owner"
	}
	return "Permission(?)"
}

// Call is one entry of the node manager's call table.
type Call struct {
	Name       string
	Args       int // arguments after the name; for signed calls the first is the vessel
	Permission Permission
}

// Signed reports whether requests for the call carry a signed trailer.
func (c Call) Signed() bool { return c.Permission != Public }

// The call names.
const (
	GetVessels             = "GetVessels"
	GetVesselResources     = "GetVesselResources"
	GetOffcutResources     = "GetOffcutResources"
	StartVessel            = "StartVessel"
	StartVesselEx          = "StartVesselEx"
	StopVessel             = "StopVessel"
	AddFileToVessel        = "AddFileToVessel"
	ListFilesInVessel      = "ListFilesInVessel"
	RetrieveFileFromVessel = "RetrieveFileFromVessel"
	DeleteFileInVessel     = "DeleteFileInVessel"
	ReadVesselLog          = "ReadVesselLog"
	ResetVessel            = "ResetVessel"
	ChangeOwner            = "ChangeOwner"
	ChangeUsers            = "ChangeUsers"
	ChangeOwnerInformation = "ChangeOwnerInformation"
	ChangeAdvertise        = "ChangeAdvertise"
	SplitVessel            = "SplitVessel"
	JoinVessels            = "JoinVessels"
)

// calls is the original's table, in its order.
var calls = [...]Call{
	{GetVessels, 0, Public},
	{GetVesselResources, 1, Public},
	{GetOffcutResources, 0, Public},
	{StartVessel, 2, User},
	{StartVesselEx, 3, User},
	{StopVessel, 1, User},
	{AddFileToVessel, 3, User},
	{ListFilesInVessel, 1, User},
	{RetrieveFileFromVessel, 2, User},
	{DeleteFileInVessel, 2, User},
	{ReadVesselLog, 1, User},
	{ResetVessel, 1, User},
	{ChangeOwner, 2, Owner},
	{ChangeUsers, 2, Owner},
	{ChangeOwnerInformation, 2, Owner},
	{ChangeAdvertise, 2, Owner},
	{SplitVessel, 2, Owner},
	{JoinVessels, 2, Owner},
}

// Calls returns the 18 calls of the table, in the original's order.
func Calls() []Call { return append([]Call(nil), calls[:]...) }

// LookupCall returns the call named name; ok is false for a name the node
// answers with "Unknown Call".
func LookupCall(name string) (c Call, ok bool) {
	for _, c := range calls {
		if c.Name == name {
			return c, true
		}
	}
	return Call{}, false
}
