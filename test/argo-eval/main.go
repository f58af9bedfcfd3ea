// Command argo-eval runs Argo Events' own Sensor code over GitHub deliveries, without a cluster:
// the dependency filters (dependencies.Filter) and the k8s trigger's resource parameters
// (triggers.ApplyResourceParameters), exactly as sensor-service applies them.
//
// Input on stdin: {"sensor": <Sensor>, "deliveries": [{"event": "push", "id": "...", "payload": {...}}]}.
// Output on stdout: one result per delivery: {"matched": bool, "error": "...", "resource": {...}}.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/argoproj/argo-events/pkg/sensors/dependencies"
	"github.com/argoproj/argo-events/pkg/sensors/triggers"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type delivery struct {
	Event   string                 `json:"event"`
	ID      string                 `json:"id"`
	Payload map[string]interface{} `json:"payload"`
}

type input struct {
	Sensor     v1alpha1.Sensor `json:"sensor"`
	Deliveries []delivery      `json:"deliveries"`
}

type result struct {
	Matched  bool                   `json:"matched"`
	Error    string                 `json:"error,omitempty"`
	Resource map[string]interface{} `json:"resource,omitempty"`
}

// eventData is what the GitHub EventSource publishes: the headers, and the body with
// X-GitHub-Event and X-GitHub-Delivery copied into it.
func eventData(d delivery) ([]byte, error) {
	body := map[string]interface{}{}
	for k, v := range d.Payload {
		body[k] = v
	}
	body["X-GitHub-Event"] = d.Event
	body["X-GitHub-Delivery"] = d.ID
	headers := map[string][]string{"X-Github-Event": {d.Event}, "X-Github-Delivery": {d.ID}}
	return json.Marshal(map[string]interface{}{"headers": headers, "body": body})
}

func evaluate(s *v1alpha1.Sensor, d delivery) result {
	dep := s.Spec.Dependencies[0]
	data, err := eventData(d)
	if err != nil {
		return result{Error: err.Error()}
	}
	event := &v1alpha1.Event{
		Context: &v1alpha1.EventContext{
			ID: d.ID, Source: dep.EventSourceName, Subject: dep.EventName, Type: "github",
			DataContentType: "application/json", SpecVersion: "1.0", Time: metav1.Time{Time: time.Now()},
		},
		Data: data,
	}
	matched, err := dependencies.Filter(event, dep.Filters, dep.FiltersLogicalOperator)
	if err != nil {
		return result{Error: err.Error()}
	}
	if !matched {
		return result{}
	}
	trigger := s.Spec.Triggers[0]
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(trigger.Template.K8s.Source.Resource.Value); err != nil {
		return result{Matched: true, Error: err.Error()}
	}
	events := map[string]*v1alpha1.Event{dep.Name: event}
	if err := triggers.ApplyResourceParameters(events, trigger.Template.K8s.Parameters, obj); err != nil {
		return result{Matched: true, Error: err.Error()}
	}
	return result{Matched: true, Resource: obj.Object}
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "argo-eval: bad input:", err)
		os.Exit(2)
	}
	if len(in.Sensor.Spec.Dependencies) != 1 || len(in.Sensor.Spec.Triggers) != 1 {
		fmt.Fprintln(os.Stderr, "argo-eval: expected one dependency and one trigger")
		os.Exit(2)
	}
	out := make([]result, 0, len(in.Deliveries))
	for _, d := range in.Deliveries {
		out = append(out, evaluate(&in.Sensor, d))
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
