package x

import (
	"strings"
	"testing"
	"time"
)

// The worked example of X's "Creating a signature" page
// (developer.x.com/en/docs/authentication/oauth-1-0a/creating-a-signature).
func TestAuthorizationSignature(t *testing.T) {
	k := Keys{ConsumerKey: "xvz1evFS4wEEPTGEFPHBog", ConsumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
		Token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", TokenSecret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"}
	h, err := k.Authorization("POST", "https://api.twitter.com/1.1/statuses/update.json?include_entities=true&status="+
		enc("Hello Ladies + Gentlemen, a signed OAuth request!"), time.Unix(1318622958, 0), "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, `oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"`) {
		t.Fatalf("header: %s", h)
	}
	if !strings.HasPrefix(h, "OAuth ") || strings.Contains(h, "include_entities") {
		t.Fatalf("header: %s", h)
	}
}
