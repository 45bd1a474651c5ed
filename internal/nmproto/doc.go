// Package nmproto is the Seattle node manager protocol, shared by the
// client (package nodemanager) and by simulated node managers: everything
// both sides need, with no network code beyond io.Reader and io.Writer.
// The protocol is described in docs/nodemanager-api.md, which the code
// cites by section.
//
// It holds:
//
//   - session framing: WriteMessage, AppendMessage and ReadMessage, with
//     the original reader's header rules and a size limit (§2.2);
//   - requests: EncodeRequest joins a call and its arguments with "|";
//     the call table (Calls, LookupCall) gives each call's argument count
//     and who may make it (§3, §4);
//   - the signed-data trailer: Trailer, Sign and SplitSigned, with the
//     timestamp forms of FormatFloat and Python's float() in ParseFloat
//     (§3.3, §3.4, §3.5);
//   - replies: Reply, ParseReply, and the GetVessels body (NodeInfo,
//     ParseGetVessels) (§4.2, §5);
//   - the node side: an Engine decides a request exactly as the original
//     node manager did, in its order and with its texts, and returns the
//     arguments to dispatch and the trailer to store; Serve runs the
//     whole handling against a Node, whose API the caller implements
//     (§6).
//
// A node built on it reads one message per connection, serves it and
// writes the reply:
//
//	request, err := nmproto.ReadMessage(conn, limit)
//	if err != nil {
//		return // the original dropped the connection without a word
//	}
//	engine := &nmproto.Engine{NodeKey: nodeKey}
//	reply := engine.Serve(node, request, nmproto.NTPTime(time.Now()))
//	nmproto.WriteMessage(conn, reply.String())
package nmproto
