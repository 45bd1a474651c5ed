// Package docs holds the project's reference documents, which the code
// cites by section:
//
//   - clearinghouse-api.md: the wire contract of the Seattle Clearinghouse
//     XML-RPC API that the client, the mock and the conformance suite
//     implement ("contract §5.4").
//   - xmlrpc.md: the XML-RPC rules package xmlrpc follows ("spec §9").
//
// The package has no code; its test checks that every section reference in
// the repository resolves to a heading (or table row) of these documents.
package docs
