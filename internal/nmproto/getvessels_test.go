package nmproto

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const gvHead = "Version: 1\nNodename: 127.0.0.1\nNodekey: 65537 99\n"

func TestParseGetVessels(t *testing.T) {
	body := gvHead + "\n" +
		"Name: v1\nStatus: Fresh\nAdvertise: True\nOwnerKey: 3 33\nOwnerInfo: a: b\n" +
		"Name: v7\nUserKey: 5 55\nOwnerInfo: \nAdvertise: False\nStatus: Started\nOwnerKey: 3 33\nUserKey: 7 77\n\n"
	have, err := ParseGetVessels(body)
	if err != nil {
		t.Fatal(err)
	}
	want := &NodeInfo{Version: "1", Name: "127.0.0.1", Key: "65537 99", Vessels: []VesselInfo{
		{Name: "v1", Status: "Fresh", Advertise: true, OwnerKey: "3 33", OwnerInfo: "a: b", UserKeys: []string{}},
		{Name: "v7", Status: "Started", OwnerKey: "3 33", UserKeys: []string{"5 55", "7 77"}},
	}}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("ParseGetVessels =\n%+v\nwant\n%+v", have, want)
	}
	if back, err := ParseGetVessels(have.Render()); err != nil || !reflect.DeepEqual(back, have) {
		t.Errorf("render and parse again: %+v, %v", back, err)
	}
	if n, err := ParseGetVessels(gvHead); err != nil || len(n.Vessels) != 0 {
		t.Errorf("node without vessels: %+v, %v", n, err)
	}
}

func TestParseGetVesselsErrors(t *testing.T) {
	v := "Name: v1\nStatus: Fresh\nAdvertise: True\nOwnerKey: 3 33\nOwnerInfo: \n"
	for name, body := range map[string]string{
		"empty":                  "",
		"no Nodekey":             "Version: 1\nNodename: x\n" + v,
		"two Versions":           gvHead + "Version: 2\n",
		"Nodekey after a vessel": "Version: 1\nNodename: x\n" + v + "Nodekey: 1 2\n",
		"vessel before the head": v + gvHead,
		"unknown line":           gvHead + v + "Color: blue\n",
		"line without a colon":   gvHead + v + "garbage\n",
		"colon without a space":  gvHead + "Name: v1\nStatus:Fresh\n",
		"field before a Name":    gvHead + "Status: Fresh\n",
		"no Status":              gvHead + strings.Replace(v, "Status: Fresh\n", "", 1),
		"no OwnerInfo":           gvHead + strings.Replace(v, "OwnerInfo: \n", "", 1),
		"two Statuses":           gvHead + v + "Status: Fresh\n",
		"advertise yes":          gvHead + strings.Replace(v, "True", "yes", 1),
		"owner key of one word":  gvHead + strings.Replace(v, "3 33", "33", 1),
		"user key not a number":  gvHead + v + "UserKey: a b\n",
		"node key of 3 integers": strings.Replace(gvHead, "65537 99", "1 2 3", 1),
		"vessel twice":           gvHead + v + v,
		"last vessel incomplete": gvHead + v + "Name: v2\nStatus: Fresh\n",
	} {
		if n, err := ParseGetVessels(body); !errors.Is(err, ErrMalformedGetVessels) {
			t.Errorf("%s: ParseGetVessels = %+v, %v; want ErrMalformedGetVessels", name, n, err)
		}
	}
	_, err := ParseGetVessels(gvHead + v + "UserKey: " + strings.Repeat("9", 10000) + " x\n")
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a long line is %d bytes: not clipped", len(err.Error()))
	}
}
